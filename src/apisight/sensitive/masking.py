"""Masked previews: enough of a value to recognise it, never enough to use it.

Each function takes the matched text and its normalised form and returns a preview
that never contains the value: ``4111 **** **** 1111``, ``***-**-6789``,
``GB** **** **** **** 1234``, ``j***@example.com``, ``+44 *******059``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers


def card(value: str, normalized: str) -> str:
    if not normalized:  # a masked PAN (first 6 / last 4 at most): shown as it was written
        return value[:40]
    digits = normalized
    stars = len(digits) - 8
    middle = " ".join("*" * min(4, stars - i) for i in range(0, stars, 4))
    return f"{digits[:4]} {middle} {digits[-4:]}"


def ssn(value: str, normalized: str) -> str:
    return f"***-**-{normalized[-4:]}"


def iban(value: str, normalized: str) -> str:
    groups = max(1, (len(normalized) - 8) // 4)
    return f"{normalized[:2]}** " + "**** " * groups + normalized[-4:]


def email(value: str, normalized: str) -> str:
    local, _, domain = normalized.rpartition("@")
    return f"{local[:1]}***@{domain}"


def phone(value: str, normalized: str) -> str:
    try:
        number = phonenumbers.parse(normalized, None)
        cc, national = str(number.country_code), str(number.national_number)
    except phonenumbers.NumberParseException:
        cc, national = "", re.sub(r"\D", "", normalized)
    return f"+{cc} " + "*" * max(len(national) - 3, 1) + national[-3:]


def last4(value: str, normalized: str) -> str:
    shown = normalized[-4:] if len(normalized) >= 10 else normalized[-2:]
    return "*" * max(len(normalized) - len(shown), 4) + shown


def secret(value: str, normalized: str) -> str:
    """A known, non-random prefix (``AKIA``, ``sk_live_``, ``eyJ``, ``Bearer``) and stars."""
    m = re.match(
        r"(?i)bearer\s+|[a-z]{2,4}_(?:live_|test_|pat_)?|AKIA|ASIA|eyJ|xox[a-z]-|AIza|-----BEGIN [A-Z ]+-----",
        value,
    )
    return (m.group(0) if m else "") + "********"


def full(value: str, normalized: str) -> str:
    return "********"


def date(value: str, normalized: str) -> str:
    return "****-**-**"


def address(value: str, normalized: str) -> str:
    return "*** (address)"


def ip(value: str, normalized: str) -> str:
    if ":" in normalized:
        return normalized.split(":", 1)[0] + ":****"
    return ".".join(normalized.split(".")[:2]) + ".*.*"


def url_credentials(value: str, normalized: str) -> str:
    scheme = value.split("://", 1)[0] if "://" in value else ""
    return f"{scheme}://***:***@"


def partial(value: str, normalized: str) -> str:
    return "*" * max(len(normalized) - 2, 4) + normalized[-2:] if len(normalized) >= 8 else "********"


#: Masks by the name recognizers.yaml uses.
MASKS: dict[str, Callable[[str, str], str]] = {
    "card": card,
    "ssn": ssn,
    "iban": iban,
    "email": email,
    "phone": phone,
    "last4": last4,
    "secret": secret,
    "full": full,
    "date": date,
    "address": address,
    "ip": ip,
    "url_credentials": url_credentials,
    "partial": partial,
}

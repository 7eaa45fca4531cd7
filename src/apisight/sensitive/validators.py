"""Validators: confirm a candidate and give its canonical form, using well-kept libraries.

A validator takes the candidate text and a :class:`Context` and returns a
:class:`Verdict`. ``checksum=True`` means a check digit passed: the match is certain
(confidence 1.0). ``ok=False`` drops the candidate. ``normalized`` is the canonical
form the fingerprint is taken over, so one value in different layouts is followed as
one (``4111-1111-1111-1111`` and ``4111111111111111``).

Checksums come from python-stdnum and phonenumbers; nothing here re-implements them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

import orjson
import phonenumbers
from stdnum import bic, iban, luhn
from stdnum.ca import sin as ca_sin
from stdnum.es import dni as es_dni
from stdnum.exceptions import InvalidComponent, InvalidFormat, ValidationError
from stdnum.iso7064 import mod_97_10
from stdnum.us import rtn as us_rtn
from stdnum.us import ssn as us_ssn


@dataclass(frozen=True, slots=True)
class Context:
    """What the scanner knows about a candidate besides its text."""

    hinted: bool = False  # the field name hints at this type
    default_region: str = "GB"  # for national-format phone numbers


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    checksum: bool = False
    normalized: str = ""
    exposure: str = "clear"  # clear | masked (a masked PAN: present, but not a leak)
    reason: str = ""


def _no(reason: str) -> Verdict:
    return Verdict(False, reason=reason)


_DIGITS = re.compile(r"\D")


def _digits(value: str) -> str:
    return _DIGITS.sub("", value)


# --- payment cards ---------------------------------------------------------------------

#: (brand, IIN ranges as (low, high) over the first 6 digits, allowed lengths, strong).
#: A *strong* brand is one whose prefix and length are specific enough that a bare,
#: Luhn-valid digit run of that shape is taken as a card without a field hint.
CARD_BRANDS: tuple[tuple[str, tuple[tuple[int, int], ...], frozenset[int], bool], ...] = (
    ("visa", ((400000, 499999),), frozenset({16}), True),
    ("visa", ((400000, 499999),), frozenset({13, 19}), False),
    ("mastercard", ((510000, 559999), (222100, 272099)), frozenset({16}), True),
    # 14/15-digit numbers are also carriers' tracking numbers (FedEx): Amex and Diners need
    # a field name or card grouping, measured by bench/sensitive_eval.py's look-alikes
    ("amex", ((340000, 349999), (370000, 379999)), frozenset({15}), False),
    ("discover", ((601100, 601199), (644000, 659999)), frozenset({16}), True),
    ("discover", ((601100, 601199), (644000, 659999)), frozenset({17, 18, 19}), False),
    ("jcb", ((352800, 358999),), frozenset({16}), True),
    ("jcb", ((352800, 358999),), frozenset({17, 18, 19}), False),
    ("diners", ((300000, 305999), (360000, 369999), (380000, 399999)), frozenset({14}), False),
    ("unionpay", ((620000, 629999),), frozenset({16, 17, 18, 19}), False),
    (
        "maestro",
        ((500000, 509999), (560000, 589999), (639000, 639999), (670000, 679999)),
        frozenset(range(12, 20)),
        False,
    ),
)


def card_brand(digits: str) -> tuple[str, bool] | None:
    """The brand of a PAN by issuer range and length, and whether that match is strong."""
    if len(digits) < 12:
        return None
    iin = int(digits[:6])
    for brand, ranges, lengths, strong in CARD_BRANDS:
        if len(digits) in lengths and any(lo <= iin <= hi for lo, hi in ranges):
            return brand, strong
    return None


_CARD_SEPARATED = re.compile(r"\d{4}( |-)\d{4}\1\d{4}\1\d{4}(?:\1\d{3})?|\d{4}( |-)\d{6}\2\d{4,5}")


def card(value: str, ctx: Context) -> Verdict:
    """A payment card number: Luhn, issuer range and length, then the evidence rule.

    Luhn passes for one random digit run in ten, so a Luhn-valid run must also fall in
    an issuer's range with that issuer's length, and then needs one more piece of
    evidence: a card-ish field name (``pan``, ``card_number``, …), *or* the grouping
    cards are written with (``4111 1111 1111 1111``, ``3782-822463-10005``, one
    separator throughout), *or* a strong issuer/length match (Visa/Mastercard/Discover/
    JCB 16). Weak shapes (Amex 15, Diners 14, Visa 13/19, Maestro, UnionPay) need a hint
    or grouping.
    """
    digits = _digits(value)
    if not 12 <= len(digits) <= 19:
        return _no("luhn")
    # issuer range first: a few comparisons turn away most digit runs (phone numbers, ids)
    # before the checksum is computed
    found = card_brand(digits)
    if found is None:
        return _no("issuer range / length")
    if not luhn.is_valid(digits):
        return _no("luhn")
    brand, strong = found
    separated = value != digits
    if separated and not _CARD_SEPARATED.fullmatch(value):
        return _no("irregular grouping")
    if not (ctx.hinted or separated or strong):
        return _no(f"{brand} {len(digits)} digits without field hint or grouping")
    evidence = "field hint" if ctx.hinted else "grouping" if separated else "strong issuer/length"
    return Verdict(True, checksum=True, normalized=digits, reason=f"luhn, {brand} range, {evidence}")


_MASK_CHARS = re.compile(r"[*xX#\u2022]")


def masked_card(value: str, ctx: Context) -> Verdict:
    """A masked PAN (``4111 **** **** 1111``, ``************1111``): present, not a leak."""
    shown = _digits(value)
    hidden = len(_MASK_CHARS.findall(value))
    length = len(shown) + hidden
    if not 12 <= length <= 19 or hidden < 4 or len(shown) > 10:
        return _no("masked length")
    lead = _digits(_MASK_CHARS.split(value, 1)[0])
    if lead and card_brand(lead + "0" * (length - len(lead))) is None:
        return _no("masked issuer range")
    if not lead and not ctx.hinted:
        return _no("fully masked without field hint")
    return Verdict(True, normalized="", exposure="masked", reason="masked PAN")


def card_expiry(value: str, ctx: Context) -> Verdict:
    m = re.fullmatch(r"(0[1-9]|1[0-2])\s?[/-]\s?(\d{2}|\d{4})|(\d{4})-(0[1-9]|1[0-2])", value)
    if not m:
        return _no("expiry layout")
    return Verdict(True, normalized=value.replace(" ", ""), reason="MM/YY next to an expiry field")


# --- banking and national ids (python-stdnum) -------------------------------------------


def _stdnum(
    module: object,
    what: str,
    checksum: bool,
    compact: Callable[[str], str] | None = None,
    validate: Callable[[str], str] | None = None,
) -> Callable[[str, Context], Verdict]:
    check_valid = validate or module.validate  # type: ignore[attr-defined]

    def check(value: str, ctx: Context) -> Verdict:
        # ``validate`` returns the compact form: one pass instead of ``is_valid`` + ``compact``
        try:
            norm = check_valid(value)
        except ValidationError:
            return _no(what)
        if not norm:  # as ``is_valid`` has it: ``bool(validate(number))``
            return _no(what)
        if compact is not None:
            norm = compact(value)
        return Verdict(True, checksum=checksum, normalized=norm, reason=f"{what} valid")

    check.__doc__ = f"python-stdnum {what} ({'checksum' if checksum else 'structure rules'})."
    return check


def _iban_country_rules() -> Callable[[str], tuple[bool, object, object]] | None:
    """Per-country IBAN rules from python-stdnum's own registry, looked up once per country.

    ``stdnum.iban.validate`` walks its prefix database and rebuilds the BBAN regex for every
    number (~30 µs of its ~40); the registry only depends on the two-letter country code, so
    the lookup is memoised here. ``None`` (use ``iban.validate`` as is) if stdnum's internals
    are not the shape this relies on.
    """
    db = getattr(iban, "_ibandb", None)
    to_re = getattr(iban, "_struct_to_re", None)
    cc_module = getattr(iban, "_get_cc_module", None)
    if db is None or to_re is None or cc_module is None:
        return None
    if not all(prefix[0] == 2 for prefix in getattr(db, "prefixes", ())):
        return None
    rules: dict[str, tuple[bool, object, object]] = {}

    def country(cc: str) -> tuple[bool, object, object]:
        found = rules.get(cc)
        if found is None:
            props = db.info(cc)[0][1]
            found = rules[cc] = (
                bool(props),
                to_re(props.get("bban", "")) if props else None,
                cc_module(cc) if props else None,
            )
        return found

    return country


_IBAN_COUNTRY = _iban_country_rules()


def _iban_validate(value: str) -> str:
    """``stdnum.iban.validate`` with its country lookup memoised (same steps, same order)."""
    number = iban.compact(value)
    if _IBAN_COUNTRY is None or len(number) < 2:
        return iban.validate(value)
    mod_97_10.validate(number[4:] + number[:4])
    known, bban, module = _IBAN_COUNTRY(number[:2])
    if not known:
        raise InvalidComponent()
    if not bban.match(number[4:]):  # type: ignore[attr-defined]
        raise InvalidFormat()
    if module:
        module.validate(number)  # type: ignore[attr-defined]
    return number


us_ssn_check = _stdnum(us_ssn, "US SSN area/group/serial", checksum=False)
iban_check = _stdnum(iban, "IBAN mod-97 and country length", checksum=True, validate=_iban_validate)
aba_routing = _stdnum(us_rtn, "ABA routing checksum", checksum=True)
_NINO = re.compile(r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]")


def uk_nino(value: str, ctx: Context) -> Verdict:
    """UK National Insurance number: HMRC's prefix and suffix rules (it has no check digit).

    python-stdnum has no NINO module, so the published format rules are applied here.
    """
    compact = re.sub(r"\s", "", value).upper()
    if not _NINO.fullmatch(compact):
        return _no("NINO prefix/suffix rules")
    return Verdict(True, normalized=compact, reason="UK NINO format rules")


ca_sin_check = _stdnum(ca_sin, "Canadian SIN luhn", checksum=True)
es_dni_check = _stdnum(es_dni, "Spanish DNI check letter", checksum=True)


def swift_bic(value: str, ctx: Context) -> Verdict:
    if not bic.is_valid(value):
        return _no("BIC structure / country")
    return Verdict(True, normalized=bic.compact(value), reason="BIC structure and country code")


def bank_account(value: str, ctx: Context) -> Verdict:
    digits = _digits(value)
    if not 6 <= len(digits) <= 17 or len(set(digits)) == 1:
        return _no("account number length")
    return Verdict(True, normalized=digits, reason="digits next to an account-number field")


# --- contact data --------------------------------------------------------------------------

_NOT_TLDS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "js", "css", "html", "json", "ico"})


def email(value: str, ctx: Context) -> Verdict:
    local, _, domain = value.rpartition("@")
    if not local or len(value) > 254 or len(local) > 64 or local[0] == "." or ".." in value:
        return _no("e-mail syntax")
    if domain.rsplit(".", 1)[-1].lower() in _NOT_TLDS:
        return _no("file name, not an address")
    return Verdict(True, normalized=value.lower(), reason="e-mail syntax")


def phone(value: str, ctx: Context) -> Verdict:
    """phonenumbers: a valid number anywhere; a merely *possible* one next to a phone field."""
    try:
        number = phonenumbers.parse(value, None if value.startswith("+") else ctx.default_region)
    except phonenumbers.NumberParseException:
        return _no("not a phone number")
    if phonenumbers.is_valid_number(number):
        reason = "valid number"
    elif ctx.hinted and phonenumbers.is_possible_number(number):
        reason = "possible number next to a phone field"
    else:
        return _no("not a valid number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Verdict(True, normalized=e164, reason=reason)


_ISO_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def date_of_birth(value: str, ctx: Context) -> Verdict:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y%m%d"):
        try:
            if fmt == "%Y-%m-%d" and (iso := _ISO_DAY.fullmatch(value[:10])):
                # the common layout without strptime's per-call cost (same date, same errors)
                day = dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
            else:
                day = dt.datetime.strptime(value[:10] if fmt == "%Y-%m-%d" else value, fmt).date()
        except ValueError:
            continue
        if 1900 <= day.year <= dt.date.today().year:
            return Verdict(True, normalized=day.isoformat(), reason="a date next to a birth-date field")
    return _no("not a plausible birth date")


def postal_address(value: str, ctx: Context) -> Verdict:
    if not (re.search(r"[A-Za-z]{2}", value) and re.search(r"\d", value) and len(value) >= 6):
        return _no("address needs letters and a number")
    return Verdict(True, normalized=" ".join(value.lower().split()), reason="text next to an address field")


def ip_address(value: str, ctx: Context) -> Verdict:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return _no("not an IP address")
    if address.is_unspecified or address.is_loopback:
        return _no("unspecified or loopback")
    return Verdict(True, normalized=str(address), reason="IP address")


# --- secrets ---------------------------------------------------------------------------------


def jwt(value: str, ctx: Context) -> Verdict:
    """Three base64url parts whose header decodes to a JSON object with ``alg``."""
    parts = value.split(".")
    if len(parts) != 3:
        return _no("not three parts")
    try:
        header = orjson.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (binascii.Error, ValueError):
        return _no("header is not base64url JSON")
    if not isinstance(header, dict) or "alg" not in header:
        return _no("header has no alg")
    return Verdict(True, checksum=True, normalized=value, reason=f"JWT header alg={str(header['alg'])[:10]}")


def secret(value: str, ctx: Context) -> Verdict:
    token = value.split(None, 1)[-1] if value[:7].lower() == "bearer " else value
    if len(set(token)) < 6:
        return _no("too uniform for a secret")
    return Verdict(True, normalized=token, reason="secret format")


def non_empty(value: str, ctx: Context) -> Verdict:
    if not value.strip() or value.lower() in {"null", "none", "true", "false", "***", "[redacted]"}:
        return _no("empty or placeholder")
    return Verdict(True, normalized=value, reason="value of a secret field")


#: Validators by the name recognizers.yaml uses.
VALIDATORS: dict[str, Callable[[str, Context], Verdict]] = {
    "card": card,
    "masked_card": masked_card,
    "card_expiry": card_expiry,
    "us_ssn": us_ssn_check,
    "iban": iban_check,
    "aba_routing": aba_routing,
    "swift_bic": swift_bic,
    "bank_account": bank_account,
    "uk_nino": uk_nino,
    "ca_sin": ca_sin_check,
    "es_dni": es_dni_check,
    "email": email,
    "phone": phone,
    "date_of_birth": date_of_birth,
    "postal_address": postal_address,
    "ip_address": ip_address,
    "jwt": jwt,
    "secret": secret,
    "non_empty": non_empty,
}

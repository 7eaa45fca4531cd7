"""Masking of secrets and sensitive-looking values in text that apisight stores.

Used for stored bodies under the ``redact`` body policy, for URL parameters and header
maps, and (through :func:`scrub_excerpt`) for every excerpt of a malformed record.
Vectorised regex replacement (Rust), so it runs on whole columns. It errs towards
masking: a stored body is for investigation, and an over-masked digit run costs less
than a leaked card number. The sensitive-data stage adds validated detection, previews
and fingerprints on top of this.
"""

from __future__ import annotations

import polars as pl

from apisight.config import Settings

MASK = "[redacted]"

#: Words that make a field secret wherever they end its name, whatever comes before:
#: ``password``, ``newPassword``, ``user-password``, ``accessToken``, ``x-api-key``.
_SECRET_WORDS = [
    r"pass(?:word|wd|phrase)",
    "pwd",
    "secret",
    "token",
    r"api[-_]?key",
    r"private[-_]?key",
    r"secret[-_]?(?:access[-_]?)?key",
    r"access[-_]?key",
    r"sess(?:ion)?[-_]?id",
    "cookie",
    "authorization",
    "signature",
    r"card[-_]?number",
    r"account[-_]?number",
]
#: Words that are secret only as a whole word of the name (``pin``, ``card_pin``,
#: ``cardPin``), never as the end of another word (``spin``, ``company``, ``bypass``).
_WHOLE_WORDS = ["pass", "pin", "cvv", "cvc", "otp", "ssn", "pan", "sig"]

#: A field, parameter or header name that says its value is secret (case-insensitive).
SECRET_NAME = "(?:{}|{}|{})".format(
    r"[\w.-]*(?:" + "|".join(_SECRET_WORDS) + ")",
    r"(?:[\w.-]*[-_.])?(?:" + "|".join(_WHOLE_WORDS) + ")",
    # camelCase: a lower-case letter or digit, then the word capitalised or in capitals
    r"[\w.-]*(?-i:[a-z0-9])(?-i:" + "|".join(f"{w.capitalize()}|{w.upper()}" for w in _WHOLE_WORDS) + ")",
)

#: A JSON string value, also one cut off by the end of the text (no closing quote).
_STRING = r'"(?:[^"\\]|\\.)*(?:"|\\?$)'
#: The same inside a JSON-encoded string (a document in a string field of a log line).
_ESCAPED_STRING = r'\\"(?:[^"\\]|\\[^"])*(?:\\"|\\?$)'
_NUMBER = r"-?\d[\d.eE+-]*"


def json_pair_rules(name: str) -> list[tuple[str, str, str | None]]:
    """Rules masking the value of JSON fields named by the pattern ``name``, plain or escaped."""
    return [
        (rf'(?i)("{name}"\s*:\s*)(?:{_STRING}|{_NUMBER})', rf'${{1}}"{MASK}"', '"'),
        (rf'(?i)(\\"{name}\\"\s*:\s*)(?:{_ESCAPED_STRING}|{_NUMBER})', rf'${{1}}\"{MASK}\"', '\\"'),
    ]


#: (pattern, replacement, literal that every match contains or None), applied in order.
RULES: list[tuple[str, str, str | None]] = [
    # JSON fields whose names say they are secret: "password": "..." / "pin": 1234
    *json_pair_rules(SECRET_NAME),
    # form fields and query-like pairs: password=...&, also in fragments and cookies
    (rf"(?i)(^|[&?#;,\s\"'])({SECRET_NAME})=[^&#;\s\"\\]*", rf"${{1}}${{2}}={MASK}", "="),
    # XML elements: <password>...</password>, <ns:ApiKey attr="x">...</ns:ApiKey>
    (rf"(?i)(<(?:[\w.-]+:)?{SECRET_NAME}(?:\s[^>]*)?>)[^<]*", rf"${{1}}{MASK}", "<"),
    # multipart/form-data parts: name="password" followed by a blank line and the value
    (rf'(?i)(name="{SECRET_NAME}"[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n)[^\r\n]*', rf"${{1}}{MASK}", "name="),
    # Authorization-style credentials anywhere in text
    (r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}", rf"${{1}} {MASK}", None),
    # JWTs
    (r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*", MASK, "eyJ"),
    # card-like digit runs (13-19 digits, optionally grouped)
    (r"\b\d(?:[ -]?\d){12,18}\b", "[redacted:number]", None),
    # US SSN shape
    (r"\b\d{3}-\d{2}-\d{4}\b", "[redacted:ssn]", "-"),
    # IBAN shape
    (r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", "[redacted:iban]", None),
    # email addresses: keep the domain for investigation
    (r"\b[A-Za-z0-9._%+-]+@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b", "[redacted]@${1}", "@"),
]


def redact_column(values: pl.Series, rules: list[tuple[str, str, str | None]] = RULES) -> pl.Series:
    """``values`` with secrets and sensitive-looking values masked.

    A rule whose literal occurs nowhere in the batch is skipped: one substring scan is
    much cheaper than a regex pass, and most rules find nothing in most batches.
    """
    if values.null_count() == values.len():
        return values
    out = values
    for pattern, replacement, needle in rules:
        if needle is not None and not out.str.contains(needle, literal=True).any():
            continue
        out = out.str.replace_all(pattern, replacement)
    return out


def redact_text(expr: pl.Expr) -> pl.Expr:
    """:func:`redact_column` as an expression."""
    return expr.map_batches(redact_column, return_dtype=pl.String)


def escape_name(name: str) -> str:
    """``name`` as a literal inside a regex."""
    return "".join("\\" + c if not c.isalnum() and c != "_" else c for c in name)


def redact_params(expr: pl.Expr, names: list[str], *, stop: str = "&;#") -> pl.Expr:
    """``expr`` with the values of URL parameters named in ``names`` or :data:`SECRET_NAME` masked.

    Parameters are found after ``?``, ``&``, ``;`` and ``#`` (fragments carry tokens in
    the OAuth implicit flow) or at the start; a value runs to the next character of
    ``stop``. Works on a query string, a whole URL or URLs inside a header map.
    """
    alternatives = "|".join([*(escape_name(n) for n in names), SECRET_NAME])
    value = "[^" + stop.replace("\\", "\\\\").replace("]", "\\]") + "]*"
    return expr.str.replace_all(rf"(?i)(^|[?&;#])({alternatives})={value}", rf"${{1}}${{2}}={MASK}")


def drop_json_keys(expr: pl.Expr, keys: list[str], *, pattern: str | None = None) -> pl.Expr:
    """Remove ``keys`` (and names matching ``pattern``) from flat JSON objects (header maps).

    Names match case-insensitively; whitespace around ``:`` and ``,`` is allowed, and a
    value may be a string, null or an array of strings (repeated headers).
    """
    alternatives = [escape_name(k) for k in keys] + ([pattern] if pattern else [])
    if not alternatives:
        return expr
    string = r'"(?:[^"\\]|\\.)*"'
    value = rf"(?:{string}|null|\[\s*(?:(?:{string}|null)\s*,?\s*)*\])"
    pair = rf'(?i)"(?:{"|".join(alternatives)})"\s*:\s*{value}\s*,?\s*'
    return expr.str.replace_all(pair, "").str.replace(r",\s*\}(\s*)$", "}${1}")


#: A run of characters that tokens, keys and signatures are made of.
_TOKEN_RUN = r"[A-Za-z0-9_\-+/=.~]{20,}"


def scrub_excerpt(values: pl.Series, settings: Settings) -> pl.Series:
    """Excerpts of malformed records with anything that may be secret masked.

    An excerpt is kept to show the shape of a bad line, so this over-masks on purpose:
    on top of :data:`RULES`, it masks header pairs named in ``settings`` (as JSON
    ``"x-api-key":"…"`` and HAR ``{"name":"X-Api-Key","value":"…"}``), HAR cookie
    lists, ``name=value;`` cookie pairs, and every run of 20 or more token characters
    holding both a digit and a letter (a bare ``"$http_x_api_key"`` in an access log).
    Scrub whole lines: a secret cut in two by an earlier truncation may not be found.
    """
    auth = settings.auth
    names = dict.fromkeys([*auth.dropped_headers(), *auth.secret_params()])
    configured = "|".join(escape_name(n) for n in names)
    any_secret = f"(?:{configured}|{SECRET_NAME})"
    rules: list[tuple[str, str, str | None]] = [
        # HAR {"name": "...", "value": "..."} entries, in either order
        (
            rf'(?i)("name"\s*:\s*"{any_secret}"\s*,\s*"value"\s*:\s*){_STRING}',
            rf'${{1}}"{MASK}"',
            '"name"',
        ),
        (
            rf'(?i)("value"\s*:\s*){_STRING}(\s*,\s*"name"\s*:\s*"{any_secret}")',
            rf'${{1}}"{MASK}"${{2}}',
            '"name"',
        ),
        # HAR cookie lists: every cookie value is a secret
        (r'(?i)("cookies"\s*:\s*\[)[^\]]*', rf'${{1}}"{MASK}"', '"cookies"'),
        *json_pair_rules(f"(?:{configured})"),
        # Cookie headers: name=value; name=value
        (r"([\w.%-]+=)[^;\"\s]*(;)", rf"${{1}}{MASK}${{2}}", ";"),
        (r"(;\s*[\w.%-]+=)[^;\"\s&]*", rf"${{1}}{MASK}", ";"),
        *RULES,
    ]
    out = redact_column(values, rules)
    if out.null_count() == out.len():
        return out
    runs = out.str.extract_all(_TOKEN_RUN).explode().drop_nulls()
    tokens = runs.filter(runs.str.contains("[0-9]") & runs.str.contains("[A-Za-z]")).unique()
    if tokens.len():
        longest_first = sorted(tokens.to_list(), key=len, reverse=True)
        out = out.str.replace_many(longest_first, [MASK] * len(longest_first), leftmost=True)
    return out

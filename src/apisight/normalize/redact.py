"""Masking of secrets and sensitive-looking values in text that apisight stores.

Used for stored bodies under the ``redact`` body policy and for every excerpt of a
malformed record saved to quarantine. Vectorised regex replacement (Rust), so it runs
on whole columns. It errs towards masking: a stored body is for investigation, and an
over-masked digit run costs less than a leaked card number. The sensitive-data stage
adds validated detection, previews and fingerprints on top of this.
"""

from __future__ import annotations

import polars as pl

SECRET_KEYS = (
    "password|passwd|pwd|pass|secret|client_secret|token|access_token|refresh_token|id_token|"
    "api_?key|apikey|authorization|cookie|pin|cvv|cvc|otp|private_key|ssn|card_?number|pan|account_?number"
)
MASK = "[redacted]"

#: (pattern, replacement, literal that every match contains or None).
_RULES: list[tuple[str, str, str | None]] = [
    # JSON fields whose names say they are secret: "password": "..." / "pin": 1234
    (rf'(?i)("(?:[\w-]*_)?(?:{SECRET_KEYS})"\s*:\s*)(?:"(?:[^"\\]|\\.)*"|-?\d+)', rf'${{1}}"{MASK}"', '"'),
    # form fields and query-like pairs: password=...&
    (rf"(?i)(^|[&?\s])((?:[\w-]*_)?(?:{SECRET_KEYS}))=[^&\s]*", rf"${{1}}${{2}}={MASK}", "="),
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


def redact_text(expr: pl.Expr) -> pl.Expr:
    """``expr`` with secrets and sensitive-looking values masked."""
    for pattern, replacement, _ in _RULES:
        expr = expr.str.replace_all(pattern, replacement)
    return expr


def redact_column(values: pl.Series) -> pl.Series:
    """:func:`redact_text` for a whole column, skipping rules that cannot match anywhere in it."""
    if values.null_count() == values.len():
        return values
    out = values
    for pattern, replacement, needle in _RULES:
        if needle is not None and not out.str.contains(needle, literal=True).any():
            continue
        out = out.str.replace_all(pattern, replacement)
    return out


def drop_json_keys(expr: pl.Expr, keys: list[str]) -> pl.Expr:
    """Remove ``keys`` from flat JSON objects of string values (header maps)."""
    if not keys:
        return expr
    names = "|".join(k.replace("-", r"\-").replace(".", r"\.") for k in keys)
    pair = rf'"(?:{names})":(?:"(?:[^"\\]|\\.)*"|null),?'
    return expr.str.replace_all(pair, "").str.replace(r",\}$", "}")

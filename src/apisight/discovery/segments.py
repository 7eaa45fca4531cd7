"""Path segments classified by shape: identifier-like values versus literal words.

One function, :func:`classify_segments`, classifies a batch of *unique* segments with
Polars regular expressions (one pass per pattern, no Python loop per segment except a
Luhn check on the few 13-19 digit candidates). :func:`classify` does the same for one
segment and is what tests and the matcher use.

Kinds
-----
Identifier kinds (:data:`ID_KINDS`) become parameters wherever they appear:

``int``, ``uuid``, ``ulid``, ``hex`` (object ids, hashes: 8+ hex characters with a digit),
``prefixed`` (``cus_9s8d7f…``, ``acct_1Nv…``, ``pi_3M…``), ``token`` (long opaque
base62/base64 strings), ``date``, ``email``, ``phone`` (``+`` and 7-15 digits), ``card``
(13-19 digits passing the Luhn check).

Literal kinds are kept as written unless cardinality says otherwise (see
``templating``): ``word`` (``accounts``, ``by-email``, ``coffee-corner-ltd``), ``version``
(``v1``, ``v2beta``, ``v4.0``; a date becomes a version where versions sit), ``file``
(``openapi.json``) and ``empty`` (the segment after a trailing slash).
"""

from __future__ import annotations

import re

import polars as pl

ID_KINDS: frozenset[str] = frozenset(
    {"int", "uuid", "ulid", "hex", "prefixed", "token", "date", "email", "phone", "card"}
)
LITERAL_KINDS: frozenset[str] = frozenset({"word", "version", "file", "empty"})

# Order matters: the first pattern that matches names the kind.
_PATTERNS: tuple[tuple[str, str], ...] = (
    ("empty", r"^$"),
    ("uuid", r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"),
    ("card", r"^\d{13,19}$"),  # confirmed by the Luhn check, else int
    ("int", r"^\d+$"),
    ("phone", r"^(\+|%2[bB])\d{7,15}$"),
    ("date", r"^\d{4}-\d{2}-\d{2}([T ]\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?)?$"),
    ("email", r"^[^@/\s]+(@|%40)[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"),
    ("version", r"^[vV]\d+(\.\d+)*([a-z]+\d*)?$"),
    ("ulid", r"^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$"),
    ("hex", r"^[0-9a-fA-F]{8,}$"),
    # word prefix (cus, acct, pi, cs_test ...) + underscore + a body with a digit or a capital
    ("prefixed", r"^[a-z][a-z0-9]{0,11}(_[a-z]{1,10})?_[A-Za-z0-9]*([0-9]|[A-Z])[A-Za-z0-9]{5,}$"),
    (
        "file",
        r"^[\w.-]+\.(json|ya?ml|xml|html?|txt|csv|pdf|png|jpe?g|gif|svg|ico|js|css|zip|gz|tgz|tar|md|wasm|map)$",
    ),
)
_COMPILED = tuple((kind, re.compile(rx)) for kind, rx in _PATTERNS)

_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9_\-=~.+%]+$")


def _has(rx: str, s: str) -> bool:
    return re.search(rx, s) is not None


def luhn_ok(digits: str) -> bool:
    """True when a digit string passes the Luhn checksum (payment card numbers do)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _is_token(s: str) -> bool:
    """Opaque token: a random-looking mix of letters and digits (base62/base64/short ids)."""
    n = len(s)
    if n < 8 or not _TOKEN_CHARS.match(s):
        return False
    digits = sum(c.isdigit() for c in s)
    letters = sum(c.isalpha() for c in s)
    upper = sum(c.isupper() for c in s)
    lower = letters - upper
    if n >= 16:
        # long: any digit, or plenty of capitals in a mixed-case string (not camelCase words)
        return digits >= 1 or (n >= 24 and upper >= 4 and lower >= 4)
    # 8-15 characters: short ids such as a1b2c3d4 or PM000123ABC, not sha256 or utf8mb4
    if digits < 2 or letters < 2 or not s.isalnum():
        return False
    return digits / n >= 0.25 or (upper >= 2 and lower >= 2)


def classify(segment: str) -> str:
    """The kind of one raw path segment (see the module docstring)."""
    for kind, rx in _COMPILED:
        if rx.match(segment):
            if kind == "card" and not luhn_ok(segment):
                return "int"
            if kind == "hex" and not _has(r"\d", segment):
                continue
            return kind
    return "token" if _is_token(segment) else "word"


def classify_segments(segments: pl.Series) -> dict[str, str]:
    """Classify *unique* segments in one vectorised pass; returns ``{segment: kind}``."""
    frame = segment_kinds(segments)
    return dict(zip(frame["segment"].to_list(), frame["kind"].to_list(), strict=True))


def segment_kinds(segments: pl.Series) -> pl.DataFrame:
    """The distinct ``segments`` and their kinds (columns ``segment``, ``kind``), vectorised:
    Python only looks at the few segments no pattern names (token or word) and the 13-19
    digit candidates (Luhn)."""
    s = pl.col("segment")
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for kind, rx in reversed(_PATTERNS):
        cond = s.str.contains(rx)
        if kind == "hex":
            cond = cond & s.str.contains(r"\d")
        expr = pl.when(cond).then(pl.lit(kind)).otherwise(expr)
    frame = pl.DataFrame({"segment": segments.unique()}, schema={"segment": pl.String}).with_columns(kind=expr)
    unsure = frame.filter(pl.col("kind").is_null() | (pl.col("kind") == "card"))
    if unsure.height == 0:
        return frame
    decided = {
        seg: ("int" if not luhn_ok(seg) else "card") if kind == "card" else ("token" if _is_token(seg) else "word")
        for seg, kind in unsure.iter_rows()
    }
    return frame.with_columns(pl.col("segment").replace_strict(decided, default=pl.col("kind")).alias("kind"))


def is_id_kind(kind: str) -> bool:
    """True for identifier kinds, which always become parameters."""
    return kind in ID_KINDS

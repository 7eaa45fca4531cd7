"""The sensitive-data stage: scan what a request carries, before anything is stored.

Runs inside normalisation on the raw values (request and response bodies, query
string, path, request and response headers, referer), so findings are complete; then
every found value is replaced in the stored text by its masked preview. Whatever the
body policy, a value this scanner finds is never written in clear — ``keep`` only turns
off the broader secret-field masking of :mod:`apisight.normalize.redact`.

Headers are scanned as the JSON maps the readers give (``{"x-user-email":"…"}``); a
finding there has the direction of its map (``request`` or ``response``) and the field
``header:<name>`` (``header:x-user-email``, ``header:location``). Headers that carry
credentials by design (``skip_headers``: authorization, cookies, API-key and
client-certificate headers, which the normaliser fingerprints or drops) give no
findings. Query strings, paths, header maps and form bodies are scanned percent-decoded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import polars as pl

from apisight.fingerprints import Fingerprinter
from apisight.sensitive.scanner import Scanner

#: (column, direction, content-type column or None, format or None)
SCANNED = [
    ("request_body", "request", "request_content_type", None),
    ("response_body", "response", "response_content_type", None),
    ("query", "query", None, "form"),
    ("path", "path", None, "path"),
    ("request_headers", "request", None, "headers"),
    ("response_headers", "response", None, "headers"),
    ("referer", "request", None, "url"),  # the Referer header, in a column of its own
]

#: Header columns: findings named ``header:<name>`` (the referer's field is fixed).
HEADER_COLUMNS = ("request_headers", "response_headers", "referer")
REFERER_FIELD = "header:referer"

#: Types not reported in headers: proxies put the client's address in many headers
#: (``x-forwarded-for``, ``forwarded``, ``x-real-ip``), user agents carry dotted version
#: numbers, and apisight keeps client addresses as event columns anyway.
HEADER_IGNORED_TYPES = ("ip_address",)

#: Headers that carry credentials by design, whatever the settings say.
CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie")

FINDING_COLUMNS = [
    "row",
    "direction",
    "type",
    "field",
    "masked",
    "fingerprint",
    "confidence",
    "exposure",
    "severity",
]


class SensitiveStage:
    """Scans a normalised-but-unredacted frame and masks what it finds.

    ``skip_headers`` (lower-case names, added to :data:`CREDENTIAL_HEADERS`) are headers
    whose values give no findings: the normaliser's credential and client-certificate
    headers (:func:`apisight.normalize.stage.credential_headers`).
    """

    def __init__(self, fingerprint: Fingerprinter, *, skip_headers: Iterable[str] = ()) -> None:
        self.scanner = Scanner(fingerprint)
        self.skip_fields = sorted({f"header:{h.lower()}" for h in (*CREDENTIAL_HEADERS, *skip_headers)})

    def __call__(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """``frame`` with found values masked, and the findings (``row`` indexes ``frame``)."""
        found: list[pl.DataFrame] = []
        masked_columns = []
        for column, direction, ctype, fmt in SCANNED:
            if column not in frame.columns:
                continue
            texts = frame[column]
            if texts.null_count() == texts.len():
                continue
            header = column in HEADER_COLUMNS
            findings = self.scanner.scan(
                texts,
                content_types=frame[ctype] if ctype else None,
                fmt=fmt,
                ignore_types=HEADER_IGNORED_TYPES if header else (),
            )
            if header and findings.height:
                if column == "referer":
                    findings = findings.with_columns(pl.lit(REFERER_FIELD).alias("field"))
                findings = findings.filter(~pl.col("field").str.to_lowercase().is_in(self.skip_fields))
            if findings.height == 0:
                continue
            clear = findings.filter(pl.col("exposure") != "masked")
            if clear.height:
                masked_columns.append(mask_spans(texts, clear).alias(column))
            if column == "referer":
                findings = _not_yet_found(findings, found)
            found.append(findings.with_columns(pl.lit(direction).alias("direction")).select(FINDING_COLUMNS))
        if masked_columns:
            frame = frame.with_columns(masked_columns)
        if not found:
            return frame, pl.DataFrame(schema=_schema())
        return frame, pl.concat(found)


    def scrub(self, texts: pl.Series) -> pl.Series:
        """``texts`` (excerpts of malformed records) with every value this scanner finds masked:
        a bad line quarantined keeps no more than its events would. Scanned as text and as a
        URL (percent-encoded query values); client addresses are kept, to show the line's shape."""
        found = [self.scanner.scan(texts, fmt=fmt, ignore_types=HEADER_IGNORED_TYPES) for fmt in (None, "url")]
        clear = pl.concat(found).filter(pl.col("exposure") != "masked").unique(["row", "start", "end"])
        return mask_spans(texts, clear) if clear.height else texts


def _not_yet_found(referer: pl.DataFrame, found: list[pl.DataFrame]) -> pl.DataFrame:
    """Referer findings less those the request header map gave too (HAR and Kong keep the
    Referer both in the map and in a column of its own; nginx only in the column)."""
    key = ["row", "type", "field", "fingerprint", "masked"]
    seen = [f.select(key) for f in found if f["field"].eq(REFERER_FIELD).any()]
    if not seen:
        return referer
    return referer.join(pl.concat(seen), on=key, how="anti", nulls_equal=True)


def mask_spans(texts: pl.Series, findings: pl.DataFrame) -> pl.Series:
    """``texts`` with each finding's byte span replaced by its masked preview.

    Only rows with findings are rebuilt (each once, from its pieces) and written back into
    a copy of the column. A value that was a bare JSON number is given quotes, so a masked
    body stays valid JSON.
    """
    spans = findings.select("row", "start", "end", "masked").sort("row", "start")
    rows, starts, ends, previews = (spans[c].to_list() for c in ("row", "start", "end", "masked"))
    texts = texts.cast(pl.String)
    firsts = [i for i in range(len(rows)) if i == 0 or rows[i] != rows[i - 1]]
    touched = [rows[i] for i in firsts]
    originals = texts.gather(touched).to_list() if touched else []
    changed: list[int] = []
    rebuilt: list[str] = []
    for k, (i, text) in enumerate(zip(firsts, originals)):
        if text is None:
            continue
        j = firsts[k + 1] if k + 1 < len(firsts) else len(rows)
        changed.append(touched[k])
        rebuilt.append(_masked(text.encode("utf-8", "surrogatepass"), starts[i:j], ends[i:j], previews[i:j]))
    out = texts.clone()
    if changed:
        out.scatter(changed, pl.Series(rebuilt, dtype=pl.String))
    return out


def _masked(data: bytes, starts: list[int], ends: list[int], previews: list[str | None]) -> str:
    """One text with its spans (ascending starts) replaced."""
    if any(s < e0 or s == s0 for s, s0, e0 in zip(starts[1:], starts, ends)):
        # overlapping or repeated spans: replace from the last start down, each on the text so far
        order = sorted(range(len(starts)), key=starts.__getitem__, reverse=True)
        for k in order:
            data = data[: starts[k]] + _replacement(data, starts[k], ends[k], previews[k]) + data[ends[k] :]
        return data.decode("utf-8", "replace")
    pieces = []
    at = 0
    for start, end, preview in zip(starts, ends, previews):
        pieces.append(data[at:start])
        pieces.append(_replacement(data, start, end, preview))
        at = end
    pieces.append(data[at:])
    return b"".join(pieces).decode("utf-8", "replace")


def _replacement(data: bytes, start: int, end: int, preview: str | None) -> bytes:
    replacement = (preview or "[masked]").encode()
    if _bare_json_number(data, start, end):
        replacement = b'"' + replacement + b'"'
    return replacement


_NUMBER = re.compile(rb"[-+]?[\d.]+")
_WHITESPACE = frozenset(b" \t\n\r\x0b\x0c")  # what bytes.rstrip() strips


def _bare_json_number(data: bytes, start: int, end: int) -> bool:
    """Whether ``data[start:end]`` is an unquoted JSON number (``"ssn": 123456789``)."""
    p = start
    while p > 0 and data[p - 1] in _WHITESPACE:
        p -= 1
    return p > 0 and data[p - 1] in b":[," and _NUMBER.fullmatch(data, start, end) is not None


def _schema() -> dict[str, pl.DataType]:
    return {
        "row": pl.Int64(),
        "direction": pl.String(),
        "type": pl.String(),
        "field": pl.String(),
        "masked": pl.String(),
        "fingerprint": pl.String(),
        "confidence": pl.Float64(),
        "exposure": pl.String(),
        "severity": pl.String(),
    }

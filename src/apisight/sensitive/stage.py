"""The sensitive-data stage: scan what a request carries, before anything is stored.

Runs inside normalisation on the raw values (request and response bodies, query
string, path), so findings are complete; then every found value is replaced in the
stored text by its masked preview. Whatever the body policy, a value this scanner
finds is never written in clear — ``keep`` only turns off the broader secret-field
masking of :mod:`apisight.normalize.redact`.
"""

from __future__ import annotations

import re

import polars as pl

from apisight.fingerprints import Fingerprinter
from apisight.sensitive.scanner import Scanner

#: (column, direction, content-type column or None, field-path format or None)
SCANNED = [
    ("request_body", "request", "request_content_type", None),
    ("response_body", "response", "response_content_type", None),
    ("query", "query", None, "form"),
    ("path", "path", None, "text"),
]

FINDING_COLUMNS = ["row", "direction", "type", "field", "masked", "fingerprint", "confidence", "exposure", "severity"]


class SensitiveStage:
    """Scans a normalised-but-unredacted frame and masks what it finds."""

    def __init__(self, fingerprint: Fingerprinter) -> None:
        self.scanner = Scanner(fingerprint)

    def __call__(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """``frame`` with found values masked, and the findings (``row`` indexes ``frame``)."""
        found = []
        masked_columns = []
        for column, direction, ctype, fmt in SCANNED:
            texts = frame[column]
            if texts.null_count() == texts.len():
                continue
            findings = self.scanner.scan(
                texts, content_types=frame[ctype] if ctype else None, fmt=fmt
            )
            if findings.height == 0:
                continue
            found.append(findings.with_columns(pl.lit(direction).alias("direction")).select(FINDING_COLUMNS))
            clear = findings.filter(pl.col("exposure") != "masked")
            if clear.height:
                masked_columns.append(mask_spans(texts, clear).alias(column))
        if masked_columns:
            frame = frame.with_columns(masked_columns)
        if not found:
            return frame, pl.DataFrame(schema=_schema())
        return frame, pl.concat(found)


def mask_spans(texts: pl.Series, findings: pl.DataFrame) -> pl.Series:
    """``texts`` with each finding's byte span replaced by its masked preview.

    Only rows with findings are rebuilt. A value that was a bare JSON number is given
    quotes, so a masked body stays valid JSON.
    """
    values = texts.to_list()
    for (row,), spans in findings.sort("start", descending=True).group_by("row"):
        text = values[row]
        if text is None:
            continue
        data = text.encode("utf-8", "surrogatepass")
        for start, end, preview in zip(spans["start"], spans["end"], spans["masked"], strict=True):
            replacement = (preview or "[masked]").encode()
            if _bare_json_number(data, start, end):
                replacement = b'"' + replacement + b'"'
            data = data[:start] + replacement + data[end:]
        values[row] = data.decode("utf-8", "replace")
    return pl.Series(texts.name, values, dtype=pl.String)


_NUMBER = re.compile(rb"[-+]?[\d.]+")


def _bare_json_number(data: bytes, start: int, end: int) -> bool:
    """Whether ``data[start:end]`` is an unquoted JSON number (``"ssn": 123456789``)."""
    before = data[:start].rstrip()
    return bool(before) and before[-1:] in (b":", b"[", b",") and _NUMBER.fullmatch(data[start:end]) is not None


def _schema() -> dict[str, pl.DataType]:
    return {
        "row": pl.Int64(), "direction": pl.String(), "type": pl.String(), "field": pl.String(),
        "masked": pl.String(), "fingerprint": pl.String(), "confidence": pl.Float64(),
        "exposure": pl.String(), "severity": pl.String(),
    }

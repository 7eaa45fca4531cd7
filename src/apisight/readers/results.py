"""What a reader returns for a batch: raw records and the rejects, with their line numbers."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import polars_hash as plh

MALFORMED_SCHEMA = {"line_no": pl.Int64, "reason": pl.String, "excerpt": pl.String}
#: Raw characters kept of a malformed record; the pipeline scrubs secrets, then shows fewer.
EXCERPT_CHARS = 2000


@dataclass
class ParseResult:
    """Raw records (columns from ``events.RAW_COLUMNS`` plus ``line_no``) and rejects."""

    records: pl.DataFrame
    malformed: pl.DataFrame
    bytes_read: int = 0
    broke_off: bool = False  # the input could not be read past this batch (damage, a limit)


def empty_result() -> ParseResult:
    return ParseResult(pl.DataFrame(schema={"line_no": pl.Int64}), pl.DataFrame(schema=MALFORMED_SCHEMA))


def rejects(lines: pl.DataFrame, mask: pl.Series | pl.Expr, reason: str | pl.Expr) -> pl.DataFrame:
    """Malformed rows for the lines selected by ``mask``, with a short excerpt."""
    bad = lines.filter(mask)
    reason_expr = pl.lit(reason) if isinstance(reason, str) else reason
    return bad.select(
        pl.col("line_no").cast(pl.Int64),
        reason_expr.cast(pl.String).alias("reason"),
        pl.col("line").str.slice(0, EXCERPT_CHARS).alias("excerpt"),
    )


def with_record_hashes(result: ParseResult, lines: pl.DataFrame) -> ParseResult:
    """``result`` with each record's ``record_hash``: a stable 64-bit hash of the line it
    came from (xxh3, the same in every process and Polars version), which normalisation
    keys and the store uses to recognise a record it already holds."""
    if result.records.height and "record_hash" not in result.records.columns:
        hashes = lines.select("line_no", plh.col("line").nchash.xxh3_64().alias("record_hash"))
        result.records = result.records.join(hashes, on="line_no", how="left", maintain_order="left")
    return result

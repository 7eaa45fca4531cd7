"""What no input can do: stop a run, or take good records down with a bad one.

Readers are vectorised, so one value a kernel cannot represent (a latency of ``1e999``,
a year ``-2026``, a lone surrogate escape) raises for the whole batch. :func:`parse_guarded`
then parses the two halves of the batch apart, again and again, so that only the lines
that fail on their own are set aside (as malformed, with the error), and the rest are
kept. It costs nothing while batches parse, and ``log2(batch)`` extra parses per bad line
when they do not.

:func:`in_range` is the other half: values a reader parsed but the store cannot hold
(times outside years 1970-9999, non-finite or negative latencies and sizes, statuses
outside 0-999) become a malformed record (a time is what everything else hangs on) or
a null field.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import polars as pl

from apisight.readers.results import MALFORMED_SCHEMA, ParseResult, rejects, with_record_hashes

log = logging.getLogger(__name__)

#: The times an event may have: Unix time on, within what every date type can hold.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
#: Anything above is not a latency (about 31 years) or a size (an exabyte).
MAX_LATENCY_MS = 1e12
MAX_BYTES = 2**60


def parse_guarded(parse: Callable[[pl.DataFrame], ParseResult], lines: pl.DataFrame) -> ParseResult:
    """``parse(lines)``, but a batch that raises is split until only failing lines are left out."""
    try:
        return parse(lines)
    except Exception as e:  # noqa: BLE001 - any kernel error on hostile input: isolate it, never stop
        if lines.height <= 1:
            problem = f"cannot be parsed: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
            return ParseResult(pl.DataFrame(schema={"line_no": pl.Int64}), rejects(lines, pl.lit(True), problem))
        log.debug("a batch of %d lines raised %s; parsing its halves apart", lines.height, type(e).__name__)
    half = lines.height // 2
    parts = [parse_guarded(parse, lines.slice(0, half)), parse_guarded(parse, lines.slice(half))]
    return ParseResult(pl.concat([p.records for p in parts], how="diagonal_relaxed"),
                       pl.concat([p.malformed for p in parts]).cast(MALFORMED_SCHEMA))  # type: ignore[arg-type]


def in_range(result: ParseResult, lines: pl.DataFrame) -> ParseResult:
    """``result`` with out-of-range times set aside as malformed and impossible numbers nulled."""
    records = result.records
    if records.height == 0:
        return result
    fixes = []
    if "latency_ms" in records.columns:
        latency = pl.col("latency_ms").cast(pl.Float64, strict=False)
        fixes.append(pl.when(latency.is_finite() & latency.is_between(0, MAX_LATENCY_MS)).then(latency)
                     .alias("latency_ms"))
    for column in ("request_bytes", "response_bytes"):
        if column in records.columns:
            size = pl.col(column).cast(pl.Int64, strict=False)
            fixes.append(pl.when(size.is_between(0, MAX_BYTES)).then(size).alias(column))
    if "status" in records.columns:
        status = pl.col("status").cast(pl.Int64, strict=False)
        fixes.append(pl.when(status.is_between(0, 999)).then(status).alias("status"))
    if fixes:
        records = records.with_columns(fixes)
    if "ts" in records.columns and isinstance(records.schema["ts"], pl.Datetime):
        outside = pl.col("ts").is_not_null() & ~pl.col("ts").dt.year().is_between(EARLIEST.year, LATEST.year)
        bad = records.filter(outside).select("line_no")
        if bad.height:
            records = records.filter(~outside)
            result.malformed = pl.concat([
                result.malformed,
                rejects(lines.join(bad, on="line_no"), pl.lit(True), "time out of range (years 1970-9999)"),
            ]).sort("line_no")
    result.records = records
    return result


def checked(parse: Callable[[pl.DataFrame], ParseResult], lines: pl.DataFrame) -> ParseResult:
    """``parse(lines)`` as every reader's batch is parsed: no failing line stops the batch
    (:mod:`~apisight.readers.guard`), values out of range are caught, each record gets its hash."""
    return with_record_hashes(in_range(parse_guarded(parse, lines), lines), lines)

"""Vectorised decoding of JSON-lines batches, shared by every JSON line format.

The whole batch is decoded in one Polars call against the fields a reader needs
(unknown fields are ignored). Only when that fails — some line is not valid JSON or not
an object — are lines checked one by one to set the bad ones aside, so the common case
stays columnar and a bad line never takes good ones with it.
"""

from __future__ import annotations

import orjson
import polars as pl

from apisight.readers.base import rejects


def decode_json_lines(lines: pl.DataFrame, dtype: pl.Struct) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Decode ``lines`` (``line_no``, ``line``) into ``line_no`` plus the fields of ``dtype``.

    Returns the decoded records and the malformed lines.
    """
    blank = pl.col("line").str.strip_chars() == ""
    malformed = rejects(lines, blank, "empty line")
    good = lines.filter(~blank)
    try:
        decoded = good["line"].str.json_decode(dtype)
        if decoded.len() != good.height:
            raise pl.exceptions.ComputeError("a line held more or less than one JSON value")
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError, pl.exceptions.SchemaError):
        lines = good
        bad = pl.Series([_json_problem(line) for line in lines["line"]], dtype=pl.String)
        lines = lines.with_columns(bad.alias("_problem"))
        malformed = pl.concat([malformed, rejects(lines, pl.col("_problem").is_not_null(), pl.col("_problem"))])
        good = lines.filter(pl.col("_problem").is_null()).drop("_problem")
        try:
            decoded = good["line"].str.json_decode(dtype)
        except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError, pl.exceptions.SchemaError):
            return _decode_each(good, dtype, malformed)
    frame = pl.DataFrame({"line_no": good["line_no"], "_v": decoded}).unnest("_v")
    return frame, malformed


def _json_problem(line: str) -> str | None:
    """Why a line is not a JSON object, or None if it is one."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as e:
        return f"invalid JSON: {e}"
    if not isinstance(value, dict):
        return f"expected a JSON object, got {type(value).__name__}"
    return None


def _decode_each(
    lines: pl.DataFrame, dtype: pl.Struct, malformed: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Slow path: decode line by line when field types disagree with ``dtype``."""
    ok: list[int] = []
    problems: list[str | None] = []
    for i, line in enumerate(lines["line"]):
        try:
            pl.Series([line]).str.json_decode(dtype)
        except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError, pl.exceptions.SchemaError) as e:
            problems.append(f"unexpected field type: {str(e).splitlines()[0]}")
            continue
        problems.append(None)
        ok.append(i)
    lines = lines.with_columns(pl.Series("_problem", problems, dtype=pl.String))
    malformed = pl.concat([malformed, rejects(lines, pl.col("_problem").is_not_null(), pl.col("_problem"))])
    good = lines.filter(pl.col("_problem").is_null())
    decoded = good["line"].str.json_decode(dtype) if good.height else pl.Series([], dtype=dtype)
    frame = pl.DataFrame({"line_no": good["line_no"], "_v": decoded}).unnest("_v")
    return frame, malformed

"""Vectorised decoding of JSON-lines batches, shared by every JSON line format.

The whole batch goes through Polars' NDJSON reader once, against only the fields a
reader needs: other keys are skipped unparsed into columns, and a field typed
``String`` takes any JSON value (numbers as their text, objects and arrays as JSON
text). Only when that fails (some line is not valid JSON, not an object, or holds a value
the requested type cannot take) are lines looked at one by one to set the bad ones
aside, so the common case stays columnar and a bad line never takes good ones with it.

Loggers that batch (Kong's http-log with ``max_batch_size > 1``) write a JSON array of
entries per line; with ``arrays=True`` each element becomes a record of its own, keeping
its line's number, and ``element`` says which one it was.
"""

from __future__ import annotations

from typing import NamedTuple

import orjson
import polars as pl

from apisight.readers.base import EXCERPT_CHARS, MALFORMED_SCHEMA, rejects

#: Polars' NDJSON reader raises ComputeError, SchemaError, ... for a line it cannot take.
_DECODE_ERRORS = (pl.exceptions.PolarsError,)


class DecodedLines(NamedTuple):
    """The decoded records and where each came from.

    ``values`` has the fields of the requested dtype, one row per record; ``lines`` is
    row for row with it: ``line_no``, ``line`` (the source text, for excerpts) and
    ``element`` (the index in the line's array, null for a line holding one object).
    """

    values: pl.DataFrame
    lines: pl.DataFrame
    malformed: pl.DataFrame


def decode_json_objects(lines: pl.DataFrame, dtype: pl.Struct, *, arrays: bool = False) -> DecodedLines:
    """Decode ``lines`` (``line_no``, ``line``), one JSON object a line, into the fields of ``dtype``.

    With ``arrays``, a line holding a JSON array gives one record per element.
    """
    lines = lines.select(
        "line_no",
        "line",
        pl.lit(None, dtype=pl.Int64).alias("element"),
        pl.col("line").str.contains(r"^\s*\[").alias("_array") if arrays else pl.lit(False).alias("_array"),
    )
    blank = ~pl.col("line").str.contains(r"\S")
    malformed = rejects(lines, blank, "empty line")
    lines = lines.filter(~blank)
    is_array = lines.drop_in_place("_array")
    schema = pl.Schema(dtype.to_schema())
    if not is_array.any():
        decoded = _decode_objects(lines, schema)
        return decoded._replace(malformed=pl.concat([malformed, decoded.malformed]).sort("line_no"))
    parts = [_decode_objects(lines.filter(~is_array), schema), _decode_arrays(lines.filter(is_array), schema)]
    kept = pl.concat([p.lines for p in parts])
    order = kept.select(pl.arg_sort_by("line_no", "element", maintain_order=True)).to_series()
    return DecodedLines(
        pl.concat([p.values for p in parts])[order],
        kept[order],
        pl.concat([malformed, *(p.malformed for p in parts)]).sort("line_no", maintain_order=True),
    )


def decode_json_lines(lines: pl.DataFrame, dtype: pl.Struct) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``line_no`` plus the fields of ``dtype`` for each line, and the malformed lines.

    The two-value form of :func:`decode_json_objects`, for readers that need no more.
    """
    decoded = decode_json_objects(lines, dtype)
    return decoded.lines.select("line_no").hstack(decoded.values), decoded.malformed


def element_reason(reason: str | pl.Expr) -> pl.Expr:
    """``reason`` for a reject, led by ``array index N:`` when the record was an array element."""
    text = pl.lit(reason) if isinstance(reason, str) else reason
    located = pl.concat_str(pl.lit("array index "), pl.col("element").cast(pl.String), pl.lit(": "), text)
    return pl.when(pl.col("element").is_null()).then(text).otherwise(located)


def _read(texts: pl.Series, schema: pl.Schema) -> pl.DataFrame:
    """One row of ``schema`` per text, or an error if any text is not one JSON object that fits."""
    if texts.len() == 0:
        return pl.DataFrame(schema=schema)
    frame = pl.read_ndjson(texts.str.join("\n").cast(pl.Binary).item(), schema=schema)
    if frame.height != texts.len():
        raise pl.exceptions.ComputeError("a line held more or less than one JSON value")
    return frame


def _decode_objects(lines: pl.DataFrame, schema: pl.Schema) -> DecodedLines:
    try:
        return DecodedLines(_read(lines["line"], schema), lines, _no_rejects())
    except _DECODE_ERRORS:
        pass  # some line is bad: fall through to setting bad lines aside one by one
    problems = pl.Series("_problem", [_json_problem(line) for line in lines["line"]], dtype=pl.String)
    lines = lines.with_columns(problems)
    bad = rejects(lines, pl.col("_problem").is_not_null(), element_reason(pl.col("_problem")))
    decoded = _decode_each(lines.filter(pl.col("_problem").is_null()).drop("_problem"), schema)
    return decoded._replace(malformed=pl.concat([bad, decoded.malformed]))


def _decode_each(lines: pl.DataFrame, schema: pl.Schema) -> DecodedLines:
    """Slow path for values the schema cannot take: halve the batch until the bad lines are alone."""
    try:
        return DecodedLines(_read(lines["line"], schema), lines, _no_rejects())
    except _DECODE_ERRORS as e:
        if lines.height == 1:
            reason = f"unexpected field type: {str(e).splitlines()[0]}"
            bad = rejects(lines, pl.lit(True), element_reason(reason))
            return DecodedLines(pl.DataFrame(schema=schema), lines.clear(), bad)
    half = lines.height // 2
    halves = [_decode_each(lines.slice(0, half), schema), _decode_each(lines.slice(half), schema)]
    return DecodedLines(*(pl.concat([h[i] for h in halves]) for i in range(3)))


def _decode_arrays(lines: pl.DataFrame, schema: pl.Schema) -> DecodedLines:
    """Lines holding JSON arrays of objects: one record per element."""
    if lines.height == 0:
        return DecodedLines(pl.DataFrame(schema=schema), lines, _no_rejects())
    wrapped = lines.select(pl.concat_str(pl.lit('{"e":'), pl.col("line"), pl.lit("}"))).to_series()
    try:
        arrays = _read(wrapped, pl.Schema({"e": pl.List(pl.Struct(schema))}))["e"]
    except _DECODE_ERRORS:
        return _split_arrays(lines, schema)
    entries = lines.select("line_no", "line", arrays.alias("_entry"))
    empty = pl.col("_entry").list.len() == 0
    malformed = rejects(entries, empty, "empty JSON array")
    entries = (
        entries.filter(~empty)
        .with_columns(pl.int_ranges(pl.col("_entry").list.len()).alias("element"))
        .explode("_entry", "element")
    )
    missing = pl.col("_entry").is_null()
    malformed = pl.concat(
        [malformed, rejects(entries, missing, element_reason("expected a JSON object, got null"))]
    )
    entries = entries.filter(~missing)
    return DecodedLines(entries.select("_entry").unnest("_entry"), entries.drop("_entry"), malformed)


def _split_arrays(lines: pl.DataFrame, schema: pl.Schema) -> DecodedLines:
    """Slow path for arrays: split each line in Python, then decode its elements as object lines."""
    elements: list[tuple[int, str, int, str]] = []
    bad: list[tuple[int, str, str]] = []
    for line_no, line in lines.select("line_no", "line").iter_rows():
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as e:
            bad.append((line_no, f"invalid JSON: {e}", line[:EXCERPT_CHARS]))
            continue
        if not value:
            bad.append((line_no, "empty JSON array", line[:EXCERPT_CHARS]))
        for i, element in enumerate(value):
            text = orjson.dumps(element).decode()
            if isinstance(element, dict):
                elements.append((line_no, text, i, line))
            else:
                reason = f"array index {i}: expected a JSON object, got {type(element).__name__}"
                bad.append((line_no, reason, text[:EXCERPT_CHARS]))
    frame = pl.DataFrame(
        elements,
        schema={"line_no": pl.Int64, "line": pl.String, "element": pl.Int64, "_whole": pl.String},
        orient="row",
    )
    decoded = _decode_objects(frame, schema)
    kept = decoded.lines.select("line_no", pl.col("_whole").alias("line"), "element")
    malformed = pl.concat([pl.DataFrame(bad, schema=MALFORMED_SCHEMA, orient="row"), decoded.malformed])
    return DecodedLines(decoded.values, kept, malformed)


def _json_problem(line: str) -> str | None:
    """Why a line is not a JSON object, or None if it is one."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as e:
        return f"invalid JSON: {e}"
    if not isinstance(value, dict):
        return f"expected a JSON object, got {type(value).__name__}"
    return None


def _no_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=MALFORMED_SCHEMA)

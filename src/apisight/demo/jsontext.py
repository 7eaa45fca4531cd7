"""Polars expressions that build log text and JSON text without a per-row loop."""

from __future__ import annotations

from pathlib import Path

import polars as pl


def jstr(col: str | pl.Expr) -> pl.Expr:
    """The JSON encoding of a string column: a quoted, escaped string, or ``null``."""
    expr = pl.col(col) if isinstance(col, str) else col
    return pl.struct(expr.alias("v")).struct.json_encode().str.slice(5).str.strip_suffix("}")


def jopt(col: str) -> pl.Expr:
    """Like :func:`jstr`, but null (not the text ``null``) for a null value."""
    return pl.when(pl.col(col).is_not_null()).then(jstr(col))


def fixed3(expr: pl.Expr) -> pl.Expr:
    """A non-negative float as text with exactly three decimals (``0.123``)."""
    milli = (expr * 1000).round(0).cast(pl.Int64)
    return pl.concat_str([(milli // 1000).cast(pl.String), pl.lit("."), (milli % 1000).cast(pl.String).str.zfill(3)])


def target(df_has_query: bool = True) -> pl.Expr:
    """Path plus ``?query`` when there is a query string."""
    if not df_has_query:
        return pl.col("path")
    q = pl.col("query")
    return pl.when(q.is_not_null() & (q != "")).then(pl.concat_str([pl.col("path"), pl.lit("?"), q])).otherwise(
        pl.col("path")
    )


def url() -> pl.Expr:
    """Absolute URL: scheme://host/path?query."""
    return pl.concat_str([pl.col("scheme").fill_null("https"), pl.lit("://"), pl.col("host"), target()])


def iso_ms(col: str = "ts") -> pl.Expr:
    """ISO 8601 UTC with milliseconds and ``Z``."""
    return pl.col(col).dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")


def pair(name: str, value: pl.Expr, first: bool = False) -> pl.Expr:
    """``,"name":<value>`` (or without the leading comma); null when ``value`` is null."""
    return pl.concat_str([pl.lit(("" if first else ",") + f'"{name}":'), value])


def optional(name: str, value: pl.Expr) -> pl.Expr:
    """``,"name":<value>`` or the empty string when ``value`` is null."""
    return pair(name, value).fill_null("")


def join_parts(parts: list[pl.Expr]) -> pl.Expr:
    """Concatenate parts; a null part turns into the empty string."""
    return pl.concat_str([p.fill_null("") for p in parts])


def query_pairs(template: str) -> pl.Expr:
    """Each ``name=value`` of the query rendered with ``template`` (``{n}``/``{v}`` JSON strings), joined by commas."""
    el = pl.element()
    name = el.str.extract(r"^([^=]*)", 1)
    value = el.str.extract(r"^[^=]*=(.*)$", 1).fill_null("")
    before, rest = template.split("{n}")
    middle, after = rest.split("{v}")
    one = pl.concat_str([pl.lit(before), jstr(name), pl.lit(middle), jstr(value), pl.lit(after)])
    return (
        pl.col("query")
        .fill_null("")
        .str.split("&")
        .list.eval(pl.when(el != "").then(one))
        .list.drop_nulls()
        .list.join(",")
    )


def write_lines(lines: pl.Series, path: Path, append: bool = False, header: str = "", footer: str = "",
                separator: str = "") -> None:
    """Write ``lines`` as UTF-8 text, one per line, with an optional header and footer.

    ``separator`` is appended to every line but the last (``","`` for a JSON array).
    """
    if separator and len(lines) > 1:
        frame = pl.DataFrame({"line": lines})
        last = pl.int_range(pl.len()) == pl.len() - 1
        lines = frame.select(pl.when(last).then(pl.col("line")).otherwise(pl.col("line") + separator))["line"]
    with open(path, "ab" if append else "wb") as fh:
        fh.write(header.encode("utf-8"))
        if len(lines):
            pl.DataFrame({"line": lines}).write_csv(fh, include_header=False, quote_style="never")
        fh.write(footer.encode("utf-8"))

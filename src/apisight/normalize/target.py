"""Split request targets (``/p?q`` or absolute URLs) into scheme, host, path and query."""

from __future__ import annotations

import polars as pl

_URL = r"^(?i:(?P<scheme>https?|wss?)://(?P<authority>[^/?#]*))?(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?"


def split_target(frame: pl.DataFrame) -> pl.DataFrame:
    """Fill ``scheme``, ``host``, ``path`` and ``query`` from ``target`` where they are missing.

    Values a reader set explicitly win over those parsed from the target; the host falls
    back to the ``Host`` request header. Hosts are lower-cased without default ports.
    """
    if frame["target"].str.starts_with("/").all():  # the common case: origin-form targets
        split = pl.col("target").str.split_exact("?", 1)
        parts = pl.struct(
            pl.lit(None, pl.String).alias("scheme"),
            pl.lit(None, pl.String).alias("authority"),
            split.struct.field("field_0").alias("path"),
            split.struct.field("field_1").alias("query"),
        )
    else:
        parts = pl.col("target").str.extract_groups(_URL)
    frame = frame.with_columns(parts.alias("_t"))
    t = pl.col("_t")
    authority = t.struct.field("authority").str.replace(r"^[^@]*@", "")
    header_host = pl.col("request_headers").str.json_path_match("$.host")
    host = pl.coalesce(pl.col("host"), pl.when(authority != "").then(authority), header_host)
    return frame.with_columns(
        pl.coalesce(pl.col("scheme"), t.struct.field("scheme")).str.to_lowercase().alias("scheme"),
        host.str.to_lowercase().str.replace(r":(?:80|443)$", "").alias("host"),
        pl.coalesce(pl.col("path"), t.struct.field("path")).alias("path"),
        pl.coalesce(pl.col("query"), t.struct.field("query")).alias("query"),
    ).drop("_t")

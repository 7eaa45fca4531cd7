"""Kong Gateway log-plugin entries (http-log, file-log, tcp-log, ...): one JSON object a line.

The serializer is shared by Kong's logging plugins: ``request.{method, uri, url,
headers, size, id}``, ``response.{status, headers, size}``, ``latencies.request``
(total ms), ``client_ip`` (the connecting address), ``started_at`` (epoch ms of the
request start) and ``consumer.{username, custom_id, id}`` once a plugin authenticated
the caller. ``request.url`` is ``scheme://host:port`` plus the raw URI with its query,
so it is the target.

Scalar fields are decoded in one vectorised pass; the header objects are taken as JSON
text (their names are open-ended), and the few with repeated headers (arrays) are
flattened so later stages see ``{name: "value"}`` maps only.
"""

from __future__ import annotations

from typing import ClassVar

import polars as pl

from apisight.events import TIMESTAMP
from apisight.readers.base import LineReader, ParseResult, rejects
from apisight.readers.jsonl import flat_header_objects, kept_lines
from apisight.readers.jsonlines import decode_json_lines

S = pl.String
ENTRY = pl.Struct(
    {
        "started_at": S,
        "client_ip": S,
        "upstream_uri": S,
        "request": pl.Struct({"method": S, "uri": S, "url": S, "size": S, "id": S}),
        "response": pl.Struct({"status": S, "size": S}),
        "latencies": pl.Struct({"request": S}),
        "consumer": pl.Struct({"username": S, "custom_id": S, "id": S}),
    }
)


class KongReader(LineReader):
    """Kong http-log / file-log JSON entries."""

    name: ClassVar[str] = "kong"
    description: ClassVar[str] = "Kong Gateway logging plugins (http-log, file-log, ...), JSON lines"

    def sniff(self, head: list[str]) -> bool:
        if not head:
            return False
        s = pl.Series(head, dtype=pl.String)
        looks = s.str.starts_with("{") & s.str.contains('"started_at"') & s.str.contains('"latencies"')
        return looks.sum() * 2 >= len(head) and super().sniff(head)

    def parse(self, lines: pl.DataFrame) -> ParseResult:
        decoded, malformed = decode_json_lines(lines, ENTRY)
        good = kept_lines(lines, decoded)
        frame = decoded.unnest("request", "response", "latencies", "consumer", separator=".")
        frame = frame.with_columns(
            _headers(good, "$.request.headers").alias("request_headers"),
            _headers(good, "$.response.headers").alias("response_headers"),
            *_bodies(good),
        )
        raw = frame.select(
            "line_no",
            _epoch_ms(pl.col("started_at")).alias("ts"),
            pl.col("request.method").str.to_uppercase().alias("method"),
            pl.coalesce("request.url", "request.uri").alias("target"),
            pl.col("response.status").cast(pl.Int64, strict=False).alias("status"),
            pl.col("latencies.request").cast(pl.Float64, strict=False).alias("latency_ms"),
            pl.col("request.size").cast(pl.Int64, strict=False).alias("request_bytes"),
            pl.col("response.size").cast(pl.Int64, strict=False).alias("response_bytes"),
            pl.col("client_ip").alias("peer_ip"),
            _header("request_headers", "x-forwarded-for").alias("forwarded_for"),
            _header("request_headers", "forwarded").alias("forwarded"),
            _header("request_headers", "user-agent").alias("user_agent"),
            _header("request_headers", "referer").alias("referer"),
            pl.coalesce(
                pl.when(pl.col("request.id") != "").then(pl.col("request.id")),
                _header("request_headers", "x-request-id"),
                _header("response_headers", "x-kong-request-id"),
            ).alias("request_id"),
            pl.coalesce("consumer.username", "consumer.custom_id", "consumer.id").alias("principal"),
            _header("request_headers", "content-type").alias("request_content_type"),
            _header("response_headers", "content-type").alias("response_content_type"),
            "request_headers",
            "response_headers",
            *[c for c in ("request_body", "response_body") if c in frame.columns],
        )
        status = frame["response.status"]
        empty = frame["request.method"].is_null() & status.is_null()
        bad_ts = ~empty & raw["ts"].is_null()
        bad_status = ~empty & ~bad_ts & status.is_not_null() & ~status.str.contains(r"^\d{1,3}$")
        malformed = pl.concat(
            [
                malformed,
                rejects(good, empty, "not a Kong request entry (no request method or response status)"),
                rejects(good, bad_ts, "bad timestamp (started_at)"),
                rejects(good, bad_status, "bad status"),
            ]
        ).sort("line_no")
        return ParseResult(raw.filter(~(empty | bad_ts | bad_status)), malformed)


def _epoch_ms(value: pl.Expr) -> pl.Expr:
    ms = value.cast(pl.Float64, strict=False)
    ok = ms.is_between(0, 1e14)  # up to year 5138: anything else is not a timestamp
    us = pl.when(ok).then((ms * 1000).round(0)).cast(pl.Int64)
    return pl.from_epoch(us, "us").dt.replace_time_zone("UTC").cast(TIMESTAMP)


def _headers(lines: pl.DataFrame, path: str) -> pl.Series:
    headers = lines["line"].str.json_path_match(path)
    objects = pl.select(pl.when(headers.str.starts_with("{")).then(headers)).to_series()
    return flat_header_objects(objects)


def _header(column: str, name: str) -> pl.Expr:
    return pl.col(column).str.json_path_match(f"$['{name}']")


def _bodies(lines: pl.DataFrame) -> list[pl.Series]:
    """Bodies, logged only when a plugin adds them: skipped without a cost otherwise."""
    if not lines["line"].str.contains('"body"', literal=True).any():
        return []
    return [
        lines["line"].str.json_path_match("$.request.body").alias("request_body"),
        lines["line"].str.json_path_match("$.response.body").alias("response_body"),
    ]

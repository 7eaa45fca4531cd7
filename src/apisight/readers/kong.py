"""Kong Gateway log-plugin entries (http-log, file-log, tcp-log, ...): JSON lines.

The serializer is shared by Kong's logging plugins: ``request.{method, uri, url,
headers, size, id}``, ``response.{status, headers, size}``, ``latencies.request``
(total ms), ``client_ip`` (the connecting address), ``started_at`` (epoch ms of the
request start) and ``consumer.{username, custom_id, id}`` once a plugin authenticated
the caller. ``request.url`` is ``scheme://host:port`` plus the raw URI with its query,
so it is the target. http-log with ``max_batch_size > 1`` sends a JSON array of entries
per line: each entry is a record, all with that line's number.

Everything is decoded in one vectorised pass; the header objects come as JSON text
(their names are open-ended), and the few with repeated headers (arrays) are flattened
so later stages see ``{name: "value"}`` maps only.
"""

from __future__ import annotations

from typing import ClassVar

import polars as pl

from apisight.readers.base import LineReader, ParseResult, rejects
from apisight.readers.fields import epoch_ms, flat_headers, header_values
from apisight.readers.jsonlines import decode_json_objects, element_reason

S = pl.String
ENTRY = pl.Struct(
    {
        "started_at": S,
        "client_ip": S,
        "request": pl.Struct({"method": S, "uri": S, "url": S, "size": S, "id": S, "headers": S, "body": S}),
        "response": pl.Struct({"status": S, "size": S, "headers": S, "body": S}),
        "latencies": pl.Struct({"request": S}),
        "consumer": pl.Struct({"username": S, "custom_id": S, "id": S}),
    }
)
#: Headers that fill canonical columns.
REQUEST_HEADERS = ["x-forwarded-for", "forwarded", "user-agent", "referer", "x-request-id", "content-type"]
RESPONSE_HEADERS = ["x-kong-request-id", "content-type"]


class KongReader(LineReader):
    """Kong http-log / file-log JSON entries."""

    name: ClassVar[str] = "kong"
    description: ClassVar[str] = "Kong Gateway logging plugins (http-log, file-log, ...), JSON lines"

    def sniff(self, head: list[str]) -> bool:
        if not head:
            return False
        s = pl.Series(head, dtype=pl.String)
        looks = s.str.contains(r"^\s*[\[{]") & s.str.contains('"started_at"') & s.str.contains('"latencies"')
        return looks.sum() * 2 >= len(head) and super().sniff(head)

    def parse(self, lines: pl.DataFrame) -> ParseResult:
        decoded = decode_json_objects(lines, ENTRY, arrays=True)
        entries = decoded.values.unnest("request", "response", "latencies", "consumer", separator=".")
        entries = entries.rename(
            {"request.headers": "request_headers", "response.headers": "response_headers"}
        )
        # Materialised first: each is read by several expressions below.
        frame = (
            flat_headers(entries, ["request_headers", "response_headers"])
            .with_columns(
                header_values(pl.col("request_headers"), REQUEST_HEADERS).alias("_req"),
                header_values(pl.col("response_headers"), RESPONSE_HEADERS).alias("_res"),
            )
            .unnest("_req", "_res", separator=".")
        )
        raw = frame.select(
            epoch_ms(pl.col("started_at")).alias("ts"),
            pl.col("request.method").str.to_uppercase().alias("method"),
            pl.coalesce("request.url", "request.uri").alias("target"),
            pl.col("response.status").cast(pl.Int64, strict=False).alias("status"),
            pl.col("latencies.request").cast(pl.Float64, strict=False).alias("latency_ms"),
            pl.col("request.size").cast(pl.Int64, strict=False).alias("request_bytes"),
            pl.col("response.size").cast(pl.Int64, strict=False).alias("response_bytes"),
            pl.col("client_ip").alias("peer_ip"),
            pl.col("_req.x-forwarded-for").alias("forwarded_for"),
            pl.col("_req.forwarded").alias("forwarded"),
            pl.col("_req.user-agent").alias("user_agent"),
            pl.col("_req.referer").alias("referer"),
            pl.coalesce(
                pl.when(pl.col("request.id") != "").then(pl.col("request.id")),
                "_req.x-request-id",
                "_res.x-kong-request-id",
            ).alias("request_id"),
            pl.coalesce("consumer.username", "consumer.custom_id", "consumer.id").alias("principal"),
            pl.col("_req.content-type").alias("request_content_type"),
            pl.col("_res.content-type").alias("response_content_type"),
            "request_headers",
            "response_headers",
            pl.col("request.body").alias("request_body"),
            pl.col("response.body").alias("response_body"),
        )
        status = frame["response.status"]
        empty = frame["request.method"].is_null() & status.is_null()
        bad_ts = ~empty & raw["ts"].is_null()
        bad_status = ~empty & ~bad_ts & status.is_not_null() & ~status.str.contains(r"^\d{1,3}$")
        good = decoded.lines
        malformed = pl.concat(
            [
                decoded.malformed,
                rejects(
                    good,
                    empty,
                    element_reason("not a Kong request entry (no request method or response status)"),
                ),
                rejects(good, bad_ts, element_reason("bad timestamp (started_at)")),
                rejects(good, bad_status, element_reason("bad status")),
            ]
        ).sort("line_no", maintain_order=True)
        records = pl.concat([good.select("line_no"), raw], how="horizontal")
        return ParseResult(records.filter(~(empty | bad_ts | bad_status)), malformed)

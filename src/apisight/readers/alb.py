"""AWS Application Load Balancer access logs (S3 delivery, plain or ``.gz``).

One entry per line: space-separated fields, the ones that may hold spaces in double
quotes. The layout has grown over the years (``trace_id``, then
``request_creation_time`` ... ``error_reason``, the target lists, the
``classification`` fields, ``conn_trace_id``, the transform fields), and AWS says to
expect more at the end, so a line is tokenised generically and fields are taken by
position; anything past the ones used is ignored.

``time`` is when the response was sent; ``request_creation_time`` is the request start
and becomes ``ts``. Older entries without it get ``time`` minus the processing times.
"""

from __future__ import annotations

from typing import ClassVar

import polars as pl

from apisight.events import TIMESTAMP
from apisight.readers.base import LineReader, ParseResult, rejects
from apisight.readers.fields import null_dash

#: One field: a double-quoted string (with ``\"`` escapes) or a run of non-blanks.
_TOKEN = r'"(?:[^"\\]|\\.)*"|[^\s"]+'
#: Fields up to ``target_group_arn``: the layout of the oldest ALB logs.
MIN_FIELDS = 17
_FIELDS = {
    "type": 0,
    "time": 1,
    "client": 3,
    "request_processing_time": 5,
    "target_processing_time": 6,
    "response_processing_time": 7,
    "elb_status_code": 8,
    "received_bytes": 10,
    "sent_bytes": 11,
    "request": 12,
    "user_agent": 13,
    "trace_id": 17,
    "request_creation_time": 21,
}
_SNIFF = r"^(?:https?|h2|grpcs|wss?) \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z \S+ \S+ \S+ "
_ISO = "%Y-%m-%dT%H:%M:%S%.fZ"
_REQUEST = r"^(?P<method>\S+) (?P<target>.+?)(?: (?P<protocol>HTTP/\S+|-))?$"


class AlbReader(LineReader):
    """AWS Application Load Balancer access log entries."""

    name: ClassVar[str] = "alb"
    description: ClassVar[str] = "AWS Application Load Balancer access logs"

    def sniff(self, head: list[str]) -> bool:
        if not head:
            return False
        hits = pl.Series(head, dtype=pl.String).str.contains(_SNIFF).sum()
        return hits * 2 >= len(head) and super().sniff(head)

    def parse(self, lines: pl.DataFrame) -> ParseResult:
        # Staged selects: each step reads materialised columns, so no expression is evaluated twice.
        frame = lines.select("line_no", pl.col("line").str.extract_all(_TOKEN).alias("_tokens"))
        tokens = pl.col("_tokens")
        frame = frame.select(
            "line_no",
            tokens.list.len().alias("_n"),
            *[tokens.list.get(i, null_on_oob=True).alias(name) for name, i in _FIELDS.items()],
        )
        frame = frame.with_columns(_unquote(pl.col(name)).alias(name) for name in _FIELDS)
        frame = frame.with_columns(_latency_ms().alias("latency_ms"))
        frame = frame.with_columns(_columns())
        enough = pl.col("_n") >= MIN_FIELDS
        checks = frame.select(
            (~enough).alias("short"),
            (enough & pl.col("ts").is_null()).alias("bad_ts"),
            (enough & pl.col("ts").is_not_null() & _bad_status(pl.col("elb_status_code"))).alias(
                "bad_status"
            ),
        )
        keep = ~(checks["short"] | checks["bad_ts"] | checks["bad_status"])
        malformed = pl.concat(
            [
                rejects(lines, checks["short"], f"expected at least {MIN_FIELDS} fields"),
                rejects(lines, checks["bad_ts"], "bad timestamp"),
                rejects(lines, checks["bad_status"], "bad status"),
            ]
        ).sort("line_no")
        records = frame.filter(keep).select(
            "line_no",
            "ts",
            "method",
            "target",
            "status",
            "latency_ms",
            "request_bytes",
            "response_bytes",
            "peer_ip",
            "user_agent",
            "request_id",
        )
        return ParseResult(records, malformed)


def _unquote(value: pl.Expr) -> pl.Expr:
    """A field without its quotes and escapes; ``-`` (not applicable) as null."""
    value = value.str.replace(r'(?s)^"(.*)"$', "${1}").str.replace_all(r'\\(["\\])', "${1}")
    return null_dash(value)


#: A processing time at or above this (a day, in seconds) is not one: ``1e999``, ``9999…9.003``.
MAX_SECONDS = 86_400.0


def _latency_ms() -> pl.Expr:
    """The three processing times summed, in ms; -1 (no target answered, closed early) gives null."""
    times = [
        pl.col(name).cast(pl.Float64, strict=False)
        for name in ("request_processing_time", "target_processing_time", "response_processing_time")
    ]
    valid = pl.all_horizontal([t.is_finite() & (t >= 0) & (t < MAX_SECONDS) for t in times])
    return pl.when(valid).then((pl.sum_horizontal(times) * 1000).round(3))


def _columns() -> list[pl.Expr]:
    end = pl.col("time").str.to_datetime(_ISO, time_unit="us", time_zone="UTC", strict=False)
    start = pl.col("request_creation_time").str.to_datetime(
        _ISO, time_unit="us", time_zone="UTC", strict=False
    )
    estimated = end - pl.duration(microseconds=(pl.col("latency_ms").fill_null(0) * 1000).cast(pl.Int64, strict=False))
    parts = pl.col("request").str.strip_chars_end().str.extract_groups(_REQUEST)
    method = parts.struct.field("method")
    return [
        pl.coalesce(start, estimated).cast(TIMESTAMP).alias("ts"),
        pl.when(method.str.contains(r"^[A-Za-z]+$")).then(method.str.to_uppercase()).alias("method"),
        null_dash(parts.struct.field("target")).alias("target"),
        pl.col("elb_status_code").cast(pl.Int64, strict=False).alias("status"),
        pl.col("received_bytes").cast(pl.Int64, strict=False).alias("request_bytes"),
        pl.col("sent_bytes").cast(pl.Int64, strict=False).alias("response_bytes"),
        # client:port always carries the port; IPv6 may come bracketed or bare.
        pl.col("client")
        .str.replace(r":\d+$", "")
        .str.strip_prefix("[")
        .str.strip_suffix("]")
        .alias("peer_ip"),
        pl.col("user_agent"),
        pl.col("trace_id").alias("request_id"),
    ]


def _bad_status(code: pl.Expr) -> pl.Expr:
    return code.is_not_null() & ~code.str.contains(r"^\d{3}$")

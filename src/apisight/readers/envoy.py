"""Envoy (and Istio sidecar / gateway) HTTP access logs, text or JSON, in one reader.

Text is Envoy's default format::

    [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%"
    %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
    %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
    "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"

plus Istio's variants of it: ``"%UPSTREAM_TRANSPORT_FAILURE_REASON%"`` (1.1+) and
``%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%`` (1.8+) after the flags,
and ``%UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS%
%DOWNSTREAM_REMOTE_ADDRESS% ...`` at the end, where the peer address is taken from.

JSON is the format-dictionary log with Istio's keys (``start_time``, ``method``,
``path``, ``response_code``, ``duration``, ``downstream_remote_address``, ...). Each line
is routed by its first character, so a file may even mix the two.
"""

from __future__ import annotations

from typing import ClassVar

import polars as pl

from apisight.events import TIMESTAMP
from apisight.readers.base import LineReader, ParseResult, empty_result, rejects
from apisight.readers.fields import duration_ms, null_dash, peer_address
from apisight.readers.jsonlines import decode_json_objects

_Q = r'"(?P<{}>[^"]*)"'
TEXT_PATTERN = (
    r"^\[(?P<start_time>[^\]]*)\] "
    + _Q.format("request")
    + r" (?P<response_code>\S+) (?P<response_flags>\S+)"
    + r'(?: (?P<response_code_details>[^\s"\d][^\s"]*) (?P<connection_termination_details>[^\s"]+))?'
    + r'(?: "[^"]*")?'  # Istio: "%UPSTREAM_TRANSPORT_FAILURE_REASON%"
    + r" (?P<bytes_received>\S+) (?P<bytes_sent>\S+) (?P<duration>\S+) (?P<upstream_service_time>\S+) "
    + " ".join(
        _Q.format(n) for n in ("x_forwarded_for", "user_agent", "request_id", "authority", "upstream_host")
    )
    + r"(?: (?P<upstream_cluster>\S+) (?P<upstream_local_address>\S+) (?P<downstream_local_address>\S+)"
    + r" (?P<downstream_remote_address>\S+))?"
    + r"(?:\s.*)?$"
)
_TEXT_SNIFF = r'^\[\d{4}-\d\d-\d\dT[^\]]*\] "'
_ISO = "%Y-%m-%dT%H:%M:%S%.f%#z"
_ADDRESS = r"^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]):\d+$"

_JSON_KEYS = [
    "start_time",
    "method",
    "path",
    "protocol",
    "response_code",
    "response_flags",
    "bytes_received",
    "bytes_sent",
    "duration",
    "upstream_service_time",
    "x_forwarded_for",
    "user_agent",
    "request_id",
    "x_request_id",
    "authority",
    "upstream_host",
    "downstream_remote_address",
    "downstream_peer_address",
    "downstream_direct_remote_address",
]
JSON_DTYPE = pl.Struct({key: pl.String for key in _JSON_KEYS})


class EnvoyReader(LineReader):
    """Envoy / Istio access logs: the default text format or JSON with Istio's keys."""

    name: ClassVar[str] = "envoy"
    description: ClassVar[str] = "Envoy / Istio access logs (default text format or JSON)"

    def sniff(self, head: list[str]) -> bool:
        if not head:
            return False
        s = pl.Series(head, dtype=pl.String)
        is_text = s.str.contains(_TEXT_SNIFF)
        is_json = s.str.starts_with("{") & s.str.contains('"start_time"') & s.str.contains('"response_code"')
        return (is_text | is_json).sum() * 2 >= len(head) and super().sniff(head)

    def parse(self, lines: pl.DataFrame) -> ParseResult:
        is_json = lines["line"].str.strip_chars_start().str.starts_with("{")
        results = [_parse_text(lines.filter(~is_json)), _parse_json(lines.filter(is_json))]
        records = pl.concat([r.records for r in results], how="diagonal_relaxed")
        malformed = pl.concat([r.malformed for r in results])
        return ParseResult(records.sort("line_no"), malformed.sort("line_no"))


def _parse_text(lines: pl.DataFrame) -> ParseResult:
    if lines.height == 0:
        return empty_result()
    groups = pl.col("line").str.extract_groups(TEXT_PATTERN)
    frame = lines.select("line_no", groups.alias("_g")).unnest("_g")
    matched = frame["start_time"].is_not_null()
    request = pl.col("request").str.extract_groups(r"^(?P<m>\S+) (?P<t>.+?)(?: (?P<p>\S+))?$")
    frame = frame.with_columns(
        request.struct.field("m").alias("method"),
        request.struct.field("t").alias("path"),
        # Istio's 4th extra field, when it is an address (custom formats may put anything there)
        pl.when(pl.col("downstream_remote_address").str.contains(_ADDRESS))
        .then(pl.col("downstream_remote_address"))
        .alias("peer"),
    )
    return _finish(lines, frame, matched, "does not match the Envoy default access log format")


def _parse_json(lines: pl.DataFrame) -> ParseResult:
    if lines.height == 0:
        return empty_result()
    decoded = decode_json_objects(lines, JSON_DTYPE)
    frame = decoded.lines.select("line_no").hstack(decoded.values)
    frame = frame.with_columns(
        pl.coalesce(null_dash(pl.col("request_id")), null_dash(pl.col("x_request_id"))).alias("request_id"),
        pl.coalesce(
            null_dash(pl.col("downstream_direct_remote_address")),
            null_dash(pl.col("downstream_peer_address")),
            null_dash(pl.col("downstream_remote_address")),
        ).alias("peer"),
    )
    matched = frame["start_time"].is_not_null() | frame["response_code"].is_not_null()
    mismatch = "not an Envoy access log entry (no start_time or response_code)"
    result = _finish(decoded.lines, frame, matched, mismatch)
    result.malformed = pl.concat([decoded.malformed, result.malformed])
    return result


def _finish(lines: pl.DataFrame, frame: pl.DataFrame, matched: pl.Series, mismatch: str) -> ParseResult:
    """Typed raw columns from the string fields both layouts share, and the rejects."""
    text_fields = [
        "method",
        "path",
        "response_code",
        "bytes_received",
        "bytes_sent",
        "duration",
        "x_forwarded_for",
        "user_agent",
        "request_id",
        "authority",
    ]
    frame = frame.with_columns([null_dash(pl.col(c)).alias(c) for c in text_fields])
    code = pl.col("response_code")
    method = pl.col("method")
    raw = frame.select(
        "line_no",
        pl.col("start_time")
        .str.to_datetime(_ISO, time_unit="us", time_zone="UTC", strict=False)
        .cast(TIMESTAMP)
        .alias("ts"),
        pl.when(method.str.contains(r"^[A-Za-z]+$")).then(method.str.to_uppercase()).alias("method"),
        pl.col("path").alias("target"),
        code.cast(pl.Int64, strict=False).alias("status"),
        duration_ms(pl.col("duration")).alias("latency_ms"),
        pl.col("bytes_received").cast(pl.Int64, strict=False).alias("request_bytes"),
        pl.col("bytes_sent").cast(pl.Int64, strict=False).alias("response_bytes"),
        pl.col("authority").alias("host"),
        peer_address(pl.col("peer")).alias("peer_ip"),
        pl.col("x_forwarded_for").alias("forwarded_for"),
        "user_agent",
        "request_id",
        (code.is_not_null() & ~code.str.contains(r"^\d{1,3}$")).alias("_bad_status"),
    )
    bad_ts = matched & raw["ts"].is_null()
    bad_status = matched & ~bad_ts & raw["_bad_status"]
    malformed = pl.concat(
        [
            rejects(lines, ~matched, mismatch),
            rejects(lines, bad_ts, "bad timestamp"),
            rejects(lines, bad_status, "bad status"),
        ]
    )
    return ParseResult(raw.filter(matched & ~bad_ts & ~bad_status).drop("_bad_status"), malformed)

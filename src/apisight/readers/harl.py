"""HAR lines (``harl``): apisight's streaming format for mirrored request/response pairs.

One HAR 1.2 ``entry`` object per line. The real client address goes in the custom
field ``_clientIP``; without it the client is unknown (never invented from the
server's address). Example line::

    {"startedDateTime":"2026-11-28T10:15:32.123Z","time":41.5,"_clientIP":"203.0.113.9",
     "request":{"method":"GET","url":"https://api.example.com/v1/accounts/42","httpVersion":"HTTP/1.1",
       "headers":[{"name":"Authorization","value":"Bearer eyJ..."}],"queryString":[],"headersSize":-1,"bodySize":0},
     "response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],
       "content":{"size":18,"mimeType":"application/json","text":"{\\"balance\\": 10.5}"},
       "redirectURL":"","headersSize":-1,"bodySize":18},"cache":{},"timings":{"send":0,"wait":41.5,"receive":0}}
"""

from __future__ import annotations

from typing import ClassVar

import polars as pl

from apisight.events import TIMESTAMP
from apisight.readers.base import LineReader, ParseResult, rejects
from apisight.readers.jsonlines import decode_json_lines

_HEADERS = pl.List(pl.Struct({"name": pl.String, "value": pl.String}))
_CONTENT = pl.Struct({"size": pl.String, "mimeType": pl.String, "text": pl.String, "encoding": pl.String})

ENTRY = pl.Struct(
    {
        "startedDateTime": pl.String,
        "time": pl.String,
        "_clientIP": pl.String,
        "request": pl.Struct(
            {
                "method": pl.String,
                "url": pl.String,
                "headers": _HEADERS,
                "postData": pl.Struct({"mimeType": pl.String, "text": pl.String, "encoding": pl.String}),
                "bodySize": pl.String,
                "headersSize": pl.String,
            }
        ),
        "response": pl.Struct(
            {
                "status": pl.String,
                "headers": _HEADERS,
                "content": _CONTENT,
                "bodySize": pl.String,
            }
        ),
    }
)

#: Bodies of these types are text worth keeping; anything else is counted, not stored.
TEXT_MIME = r"(?i)json|xml|text/|x-www-form-urlencoded|javascript|graphql|yaml"


class HarlReader(LineReader):
    """JSON lines of HAR 1.2 entries, with ``_clientIP`` for the real client."""

    name: ClassVar[str] = "harl"
    description: ClassVar[str] = "HAR lines: one HAR 1.2 entry per line, client address in _clientIP"

    def sniff(self, head: list[str]) -> bool:
        first = head[0].lstrip() if head else ""
        return first.startswith("{") and '"startedDateTime"' in first and '"request"' in first

    def parse(self, lines: pl.DataFrame) -> ParseResult:
        decoded, malformed = decode_json_lines(lines, ENTRY)
        frame = entries_to_raw(decoded)
        return _split_invalid(lines, frame, malformed)


def entries_to_raw(decoded: pl.DataFrame) -> pl.DataFrame:
    """Raw event columns from decoded HAR entries (``line_no`` plus the ENTRY fields)."""
    req, res = pl.col("request"), pl.col("response")
    req_headers = headers_json(req.struct.field("headers"))
    res_headers = headers_json(res.struct.field("headers"))
    post = req.struct.field("postData")
    content = res.struct.field("content")
    return decoded.select(
        "line_no",
        pl.col("startedDateTime")
        .str.to_datetime(time_zone="UTC", strict=False, time_unit="us")
        .cast(TIMESTAMP)
        .alias("ts"),
        pl.col("time").cast(pl.Float64, strict=False).alias("latency_ms"),
        pl.col("_clientIP").alias("peer_ip"),
        req.struct.field("method").str.to_uppercase().alias("method"),
        req.struct.field("url").alias("target"),
        res.struct.field("status").cast(pl.Int64, strict=False).alias("status"),
        _size(req.struct.field("bodySize")).alias("request_bytes"),
        pl.coalesce(_size(res.struct.field("bodySize")), _size(content.struct.field("size"))).alias(
            "response_bytes"
        ),
        req_headers.alias("request_headers"),
        res_headers.alias("response_headers"),
        req_headers.str.json_path_match("$.user-agent").alias("user_agent"),
        req_headers.str.json_path_match("$.referer").alias("referer"),
        req_headers.str.json_path_match("$.x-forwarded-for").alias("forwarded_for"),
        req_headers.str.json_path_match("$.forwarded").alias("forwarded"),
        req_headers.str.json_path_match("$.x-request-id").alias("request_id"),
        pl.coalesce(post.struct.field("mimeType"), req_headers.str.json_path_match("$.content-type")).alias(
            "request_content_type"
        ),
        pl.coalesce(content.struct.field("mimeType"), res_headers.str.json_path_match("$.content-type")).alias(
            "response_content_type"
        ),
        _body(post.struct.field("text"), post.struct.field("encoding"), post.struct.field("mimeType")).alias(
            "request_body"
        ),
        _body(content.struct.field("text"), content.struct.field("encoding"), content.struct.field("mimeType")).alias(
            "response_body"
        ),
    )


def headers_json(headers: pl.Expr) -> pl.Expr:
    """A HAR header list ``[{name, value}]`` as a JSON object string with lower-case names."""
    pairs = headers.list.eval(
        pl.struct(
            pl.element().struct.field("name").str.to_lowercase().alias("name"),
            pl.element().struct.field("value"),
        )
        .struct.json_encode()
        .str.replace(r'(?s)^\{"name":("(?:[^"\\]|\\.)*"),"value":(.*)\}$', "${1}:${2}")
    )
    return pl.when(headers.is_null()).then(None).otherwise(pl.concat_str(pl.lit("{"), pairs.list.join(","), pl.lit("}")))


def _size(expr: pl.Expr) -> pl.Expr:
    size = expr.cast(pl.Float64, strict=False).cast(pl.Int64, strict=False)
    return pl.when(size >= 0).then(size)


def _body(text: pl.Expr, encoding: pl.Expr, mime: pl.Expr) -> pl.Expr:
    """Textual bodies as text (base64 decoded); binary bodies are not kept."""
    decoded = text.str.decode("base64", strict=False).cast(pl.String, strict=False)
    textual = mime.is_null() | mime.str.contains(TEXT_MIME)
    body = pl.when(encoding == "base64").then(decoded).otherwise(text)
    return pl.when(textual).then(body)


def _split_invalid(lines: pl.DataFrame, frame: pl.DataFrame, malformed: pl.DataFrame) -> ParseResult:
    """Reject entries without a usable time, method or URL, naming what is missing."""
    problem = (
        pl.when(pl.col("ts").is_null())
        .then(pl.lit("bad or missing startedDateTime"))
        .when(pl.col("method").is_null() | pl.col("target").is_null())
        .then(pl.lit("missing request method or url"))
        .when(pl.col("status").is_null())
        .then(pl.lit("missing response status"))
    )
    checked = frame.with_columns(problem.alias("_problem"))
    bad = checked.filter(pl.col("_problem").is_not_null()).select("line_no", "_problem")
    if bad.height:
        bad_lines = lines.join(bad, on="line_no")
        malformed = pl.concat([malformed, rejects(bad_lines, pl.lit(True), pl.col("_problem"))]).sort("line_no")
    return ParseResult(checked.filter(pl.col("_problem").is_null()).drop("_problem"), malformed)

"""HAR 1.2: one ``entry`` per line (harl) and whole HAR files, built as JSON text."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from apisight.demo.jsontext import fixed3, iso_ms, join_parts, jopt, jstr, query_pairs, url, write_lines

STATUS_TEXT = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 301: "Moved Permanently", 302: "Found",
    304: "Not Modified", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 409: "Conflict", 410: "Gone", 422: "Unprocessable Entity", 429: "Too Many Requests",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}
CREATOR = '{"name":"apisight-demo","version":"0.1.0"}'
#: Optional columns of a traffic frame that only header-keeping formats write.
HEADER_COLUMNS = ("origin", "cache_control", "cors_origin", "cors_credentials", "server", "powered_by")


def _header(name: str, col: str) -> pl.Expr:
    """``,{"name":..,"value":..}`` or null when the column is null."""
    return pl.concat_str([pl.lit(f',{{"name":"{name}","value":'), jopt(col), pl.lit("}")])


def entry_json() -> pl.Expr:
    """An expression rendering each row as one HAR 1.2 entry (JSON text)."""
    ms = pl.col("latency_ms")
    send, receive = pl.lit(0.05), (ms * 0.05).clip(0.0, None)
    wait = (ms - 0.05 - receive).clip(0.0, None)
    has_req = pl.col("request_body").is_not_null()
    has_resp = pl.col("response_body").is_not_null()
    post = pl.concat_str([pl.lit(',"postData":{"mimeType":'), jstr(pl.col("request_content_type").fill_null("")),
                          pl.lit(',"text":'), jstr("request_body"), pl.lit("}")])
    req_headers = join_parts(
        [
            pl.lit('[{"name":"Host","value":'), jstr("host"), pl.lit("}"), _header("User-Agent", "user_agent"),
            _header("Authorization", "authorization"), _header("X-Api-Key", "api_key"),
            _header("Content-Type", "request_content_type"), _header("Referer", "referer"),
            _header("X-Forwarded-For", "forwarded_for"), _header("X-Request-Id", "request_id"),
            _header("Origin", "origin"), pl.lit("]"),
        ]
    )
    resp_headers = join_parts(
        [
            pl.lit('[{"name":"Content-Length","value":"'), pl.col("response_bytes").cast(pl.String), pl.lit('"}'),
            _header("Content-Type", "response_content_type"), _header("X-Request-Id", "request_id"),
            _header("Cache-Control", "cache_control"), _header("Access-Control-Allow-Origin", "cors_origin"),
            _header("Access-Control-Allow-Credentials", "cors_credentials"), _header("Server", "server"),
            _header("X-Powered-By", "powered_by"), pl.lit("]"),
        ]
    )
    status_text = pl.col("status").replace_strict(STATUS_TEXT, default="", return_dtype=pl.String)
    return join_parts(
        [
            pl.lit('{"startedDateTime":"'), iso_ms(), pl.lit('","time":'), fixed3(ms),
            pl.lit(',"request":{"method":"'), pl.col("method"), pl.lit('","url":'), jstr(url()),
            pl.lit(',"httpVersion":"HTTP/1.1","cookies":[],"headers":'), req_headers,
            pl.lit(',"queryString":['), query_pairs('{"name":{n},"value":{v}}'), pl.lit("]"),
            pl.when(has_req).then(post),
            pl.lit(',"headersSize":-1,"bodySize":'), pl.col("request_bytes").cast(pl.String),
            pl.lit('},"response":{"status":'), pl.col("status").cast(pl.String), pl.lit(',"statusText":'),
            jstr(status_text), pl.lit(',"httpVersion":"HTTP/1.1","cookies":[],"headers":'), resp_headers,
            pl.lit(',"content":{"size":'), pl.col("response_bytes").cast(pl.String), pl.lit(',"mimeType":'),
            jstr(pl.col("response_content_type").fill_null("")),
            pl.when(has_resp).then(pl.concat_str([pl.lit(',"text":'), jstr("response_body")])),
            pl.lit('},"redirectURL":"","headersSize":-1,"bodySize":'), pl.col("response_bytes").cast(pl.String),
            pl.lit('},"cache":{},"timings":{"send":'), fixed3(send), pl.lit(',"wait":'), fixed3(wait),
            pl.lit(',"receive":'), fixed3(receive), pl.lit('},"_clientIP":'), jstr("client_ip"), pl.lit("}"),
        ]
    ).alias("line")


def with_header_columns(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with the optional header columns (see ``render.TRAFFIC_COLUMNS``) it lacks, as nulls."""
    missing = [c for c in HEADER_COLUMNS if c not in df.columns]
    return df.with_columns(pl.lit(None, pl.String).alias(c) for c in missing) if missing else df


def write_harl(df: pl.DataFrame, path: Path, *, append: bool = False) -> None:
    """Write ``df`` as HAR lines: one HAR 1.2 ``entry`` JSON object per line."""
    write_lines(with_header_columns(df).select(entry_json())["line"], path, append)


def write_har(df: pl.DataFrame, path: Path) -> None:
    """Write ``df`` as one HAR 1.2 file (``{"log": {...,"entries": [...]}}``); for small captures."""
    header = '{"log":{"version":"1.2","creator":' + CREATOR + ',"entries":[\n'
    write_lines(with_header_columns(df).select(entry_json())["line"], path, header=header, footer="]}}\n",
                separator=",")

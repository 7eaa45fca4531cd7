"""Kong ``http-log`` plugin output (one JSON object per line)."""

from __future__ import annotations

import uuid
from pathlib import Path

import polars as pl

from apisight.demo.har import with_header_columns
from apisight.demo.jsontext import join_parts, jopt, jstr, optional, query_pairs, target, url, write_lines

_NS = uuid.UUID("6f0b5b0e-6d0e-4c55-9a43-6b616e6b0001")


def _uuid_for(values: pl.Series) -> dict[str, str]:
    return {v: str(uuid.uuid5(_NS, v)) for v in values.drop_nulls().unique().to_list()}


def write_kong(df: pl.DataFrame, path: Path, *, append: bool = False) -> None:
    """Write ``df`` as Kong http-log JSON lines (headers lower-case; sizes include ~headers)."""
    df = with_header_columns(df)
    consumer = pl.col("consumer") if "consumer" in df.columns else pl.lit(None, pl.String)
    ids = _uuid_for(df.select(consumer.alias("c"))["c"]) | _uuid_for(df["host"])
    ms = pl.col("latency_ms")
    kong_ms = (ms * 0.04).round(0).cast(pl.Int64) + 1
    proxy_ms = ms.round(0).cast(pl.Int64)
    host_id = pl.col("host").replace_strict(ids, default=None)
    headers = join_parts(
        [
            pl.lit('{"host":'), jstr("host"), pl.lit(',"user-agent":'), jstr("user_agent"),
            optional("authorization", jopt("authorization")),
            optional("x-api-key", jopt("api_key")),
            optional("content-type", jopt("request_content_type")),
            optional("x-forwarded-for", jopt("forwarded_for")), optional("origin", jopt("origin")),
            pl.lit(',"x-request-id":'), jstr("request_id"), pl.lit("}"),
        ]
    )
    resp_headers = join_parts(
        [
            pl.lit("{"), pl.concat_str([pl.lit('"content-type":'), jstr("response_content_type"), pl.lit(",")]),
            pl.concat_str([pl.lit('"cache-control":'), jopt("cache_control"), pl.lit(",")]),
            pl.concat_str([pl.lit('"access-control-allow-origin":'), jopt("cors_origin"), pl.lit(",")]),
            pl.concat_str([pl.lit('"access-control-allow-credentials":'), jopt("cors_credentials"), pl.lit(",")]),
            pl.lit('"content-length":"'), pl.col("response_bytes").cast(pl.String),
            pl.lit('","x-kong-upstream-latency":"'), proxy_ms.cast(pl.String),
            pl.lit('","x-kong-proxy-latency":"'), kong_ms.cast(pl.String), pl.lit('"}'),
        ]
    )
    consumer_part = pl.when(consumer.is_not_null()).then(
        pl.concat_str([pl.lit(',"consumer":{"username":'), jstr(consumer), pl.lit(',"id":"'),
                       consumer.replace_strict(ids, default=None), pl.lit('"}')])
    )
    line = join_parts(
        [
            pl.lit('{"request":{"method":"'), pl.col("method"), pl.lit('","uri":'), jstr(target()),
            pl.lit(',"url":'), jstr(url().str.replace("://([^/]+)", "://$1:443")),
            pl.lit(',"querystring":{'), query_pairs("{n}:{v}"), pl.lit('},"headers":'), headers,
            pl.lit(',"size":'), (pl.col("request_bytes") + 320).cast(pl.String),
            pl.lit('},"response":{"status":'), pl.col("status").cast(pl.String), pl.lit(',"headers":'),
            resp_headers, pl.lit(',"size":'), (pl.col("response_bytes") + 240).cast(pl.String),
            pl.lit('},"latencies":{"request":'), (proxy_ms + kong_ms).cast(pl.String), pl.lit(',"kong":'),
            kong_ms.cast(pl.String), pl.lit(',"proxy":'), proxy_ms.cast(pl.String),
            pl.lit('},"client_ip":'), jstr("client_ip"),
            pl.lit(',"started_at":'), pl.col("ts").dt.epoch("ms").cast(pl.String),
            pl.lit(',"service":{"host":"upstream.'), pl.col("host"), pl.lit('","name":"'), pl.col("host"),
            pl.lit('","protocol":"http","port":8080,"path":"/","id":"'), host_id,
            pl.lit('","retries":5,"connect_timeout":60000,"read_timeout":60000,"write_timeout":60000}'),
            pl.lit(',"route":{"id":"'), host_id, pl.lit('","name":"'), pl.col("host"),
            pl.lit('-all","paths":["/"],"protocols":["https"],"hosts":["'), pl.col("host"),
            pl.lit('"],"strip_path":false,"preserve_host":true}'), consumer_part,
            pl.lit(',"upstream_uri":'), jstr(target()), pl.lit("}"),
        ]
    )
    write_lines(df.select(line.alias("line"))["line"], path, append)

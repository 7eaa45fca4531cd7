"""Write a traffic frame (see ``render.TRAFFIC_COLUMNS``) in the formats apisight reads.

Every writer is vectorised (Polars string expressions), writes UTF-8, and accepts
``append=True`` so large outputs can be produced chunk by chunk.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from apisight.demo.har import write_har, write_harl
from apisight.demo.jsontext import fixed3, iso_ms, jstr, target, write_lines
from apisight.demo.kong import write_kong
from apisight.errors import ConfigError

__all__ = ["COMBINED", "PARTNER_FORMAT", "write_alb", "write_envoy", "write_har", "write_harl", "write_kong",
           "write_nginx", "write_nginx_custom"]

COMBINED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" '
    '"$http_user_agent"'
)
#: The nginx ``log_format`` of the partner gateway in the demo.
PARTNER_FORMAT = (
    COMBINED + ' $request_time "$http_x_forwarded_for" "$http_x_api_key" $host "$http_x_request_id"'
)
_VAR = re.compile(r"\$([a-z_0-9]+)")


def _esc(expr: pl.Expr) -> pl.Expr:
    """nginx's default escaping of ``"`` and ``\\``, and ``-`` for empty values."""
    escaped = expr.str.replace_all("\\", "\\x5C", literal=True).str.replace_all('"', "\\x22", literal=True)
    return pl.when(expr.is_null() | (expr == "")).then(pl.lit("-")).otherwise(escaped)


def _port(offset: int) -> pl.Expr:
    """A deterministic ephemeral port taken from the request id."""
    digits = pl.col("request_id").str.replace_all("-", "", literal=True).str.slice(offset, 4)
    return (digits.str.to_integer(base=16, strict=False).fill_null(0) % 28_000 + 32_768).cast(pl.String)


def _hex8(expr: pl.Expr) -> pl.Expr:
    """Eight lower-case hex digits of a non-negative integer expression."""
    digits = {i: "0123456789abcdef"[i] for i in range(16)}
    return pl.concat_str([((expr // 16**k) % 16).replace_strict(digits, return_dtype=pl.String)
                          for k in range(7, -1, -1)])


def _nginx_variables() -> dict[str, pl.Expr]:
    ms = pl.col("latency_ms")
    return {
        "remote_addr": pl.coalesce(pl.col("peer_ip"), pl.col("client_ip")),
        "remote_user": pl.lit("-"),
        "time_local": pl.col("ts").dt.strftime("%d/%b/%Y:%H:%M:%S %z"),
        "time_iso8601": pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "msec": fixed3(pl.col("ts").dt.epoch("ms") / 1000),
        "request": _esc(pl.concat_str([pl.col("method"), pl.lit(" "), target(), pl.lit(" HTTP/1.1")])),
        "request_method": pl.col("method"),
        "request_uri": _esc(target()),
        "uri": _esc(pl.col("path")),
        "args": _esc(pl.col("query")),
        "query_string": _esc(pl.col("query")),
        "status": pl.col("status").cast(pl.String),
        "body_bytes_sent": pl.col("response_bytes").cast(pl.String),
        "bytes_sent": (pl.col("response_bytes") + 240).cast(pl.String),
        "request_length": (pl.col("request_bytes") + 320).cast(pl.String),
        "request_time": fixed3(ms / 1000),
        "upstream_response_time": fixed3(ms * 0.97 / 1000),
        "http_referer": _esc(pl.col("referer")),
        "http_user_agent": _esc(pl.col("user_agent")),
        "http_x_forwarded_for": _esc(pl.col("forwarded_for")),
        "http_x_api_key": _esc(pl.col("api_key")),
        "http_authorization": _esc(pl.col("authorization")),
        "http_x_request_id": _esc(pl.col("request_id")),
        "request_id": pl.col("request_id").str.replace_all("-", "", literal=True),
        "host": pl.col("host"),
        "http_host": pl.col("host"),
        "scheme": pl.col("scheme"),
        "server_protocol": pl.lit("HTTP/1.1"),
        "content_type": _esc(pl.col("request_content_type")),
        "sent_http_content_type": _esc(pl.col("response_content_type")),
    }


def nginx_line(log_format: str) -> pl.Expr:
    """An expression rendering one log line per row in nginx ``log_format`` syntax."""
    variables = _nginx_variables()
    parts: list[pl.Expr] = []
    pos = 0
    for m in _VAR.finditer(log_format):
        if m.group(1) not in variables:
            known = ", ".join(sorted(variables))
            raise ConfigError(f"unsupported nginx variable ${m.group(1)} (supported: {known})")
        parts += [pl.lit(log_format[pos : m.start()]), variables[m.group(1)].fill_null("-")]
        pos = m.end()
    parts.append(pl.lit(log_format[pos:]))
    return pl.concat_str(parts).alias("line")


def write_nginx_custom(df: pl.DataFrame, path: Path, log_format: str, *, append: bool = False) -> None:
    """Write ``df`` as nginx access-log lines in the given ``log_format``."""
    write_lines(df.select(nginx_line(log_format))["line"], path, append)


def write_nginx(df: pl.DataFrame, path: Path, *, append: bool = False) -> None:
    """Write ``df`` in nginx's ``combined`` format."""
    write_nginx_custom(df, path, COMBINED, append=append)


def write_alb(df: pl.DataFrame, path: Path, *, append: bool = False) -> None:
    """Write ``df`` as AWS Application Load Balancer access-log lines (29 fields)."""
    ms = pl.col("latency_ms")
    rid = pl.col("request_id").str.replace_all("-", "", literal=True)
    end = pl.col("ts") + pl.duration(microseconds=(ms * 1000).cast(pl.Int64))
    target_addr = pl.concat_str([pl.lit("10.0.4."), (_port(4).cast(pl.Int64) % 200 + 10).cast(pl.String),
                                 pl.lit(":8080")])
    status = pl.col("status").cast(pl.String)
    q = lambda e: pl.concat_str([pl.lit('"'), e, pl.lit('"')])
    line = pl.concat_str(
        [
            pl.lit("https"), end.dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"), pl.lit("app/demobank-alb/50dc6c495c0c9188"),
            pl.concat_str([pl.col("client_ip"), pl.lit(":"), _port(0)]), target_addr,
            pl.lit("0.000"), fixed3(ms / 1000), pl.lit("0.000"), status, status,
            (pl.col("request_bytes") + 320).cast(pl.String), (pl.col("response_bytes") + 240).cast(pl.String),
            q(pl.concat_str([pl.col("method"), pl.lit(" https://"), pl.col("host"), pl.lit(":443"), target(),
                             pl.lit(" HTTP/1.1")]).str.replace_all('"', "%22", literal=True)),
            q(_esc(pl.col("user_agent"))), pl.lit("ECDHE-RSA-AES128-GCM-SHA256"), pl.lit("TLSv1.2"),
            pl.lit("arn:aws:elasticloadbalancing:eu-west-2:123456789012:targetgroup/demobank/73e2d6bc24d8a067"),
            q(pl.concat_str([pl.lit("Root=1-"), _hex8(pl.col("ts").dt.epoch("s")), pl.lit("-"),
                             rid.str.slice(8, 24)])),
            q(pl.col("host")),
            q(pl.lit("arn:aws:acm:eu-west-2:123456789012:certificate/12345678-1234-1234-1234-123456789012")),
            pl.lit("1"), pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"), q(pl.lit("forward")), q(pl.lit("-")),
            q(pl.lit("-")), q(target_addr), q(status), q(pl.lit("-")), q(pl.lit("-")),
        ],
        separator=" ",
    )
    write_lines(df.select(line.alias("line"))["line"], path, append)


def write_envoy(df: pl.DataFrame, path: Path, *, append: bool = False) -> None:
    """Write ``df`` as Envoy/Istio JSON access-log lines."""
    status = pl.col("status")
    flags = pl.when(status == 503).then(pl.lit("UH")).when(status == 504).then(pl.lit("UT")).otherwise(pl.lit("-"))
    upstream = pl.concat_str([pl.lit("10.3."), (_port(8).cast(pl.Int64) % 40).cast(pl.String), pl.lit("."),
                              (_port(12).cast(pl.Int64) % 250 + 2).cast(pl.String), pl.lit(":8080")])
    service_time = pl.when(status == 503).then(pl.lit("null")).otherwise(
        pl.concat_str([pl.lit('"'), (pl.col("latency_ms") * 0.9).round(0).cast(pl.Int64).cast(pl.String), pl.lit('"')])
    )
    line = pl.concat_str(
        [
            pl.lit('{"start_time":"'), iso_ms(), pl.lit('","method":"'), pl.col("method"),
            pl.lit('","path":'), jstr(target()), pl.lit(',"protocol":"HTTP/1.1","response_code":'),
            status.cast(pl.String), pl.lit(',"response_flags":"'), flags,
            pl.lit('","bytes_received":'), pl.col("request_bytes").cast(pl.String),
            pl.lit(',"bytes_sent":'), pl.col("response_bytes").cast(pl.String),
            pl.lit(',"duration":'), pl.col("latency_ms").round(0).cast(pl.Int64).cast(pl.String),
            pl.lit(',"upstream_service_time":'), service_time,
            pl.lit(',"x_forwarded_for":'), jstr("forwarded_for"), pl.lit(',"user_agent":'), jstr("user_agent"),
            pl.lit(',"request_id":'), jstr("request_id"), pl.lit(',"authority":'), jstr("host"),
            pl.lit(',"upstream_host":"'), upstream,
            pl.lit('","upstream_cluster":"outbound|8080||'), pl.col("host"),
            pl.lit('","route_name":"default","downstream_remote_address":"'),
            pl.col("client_ip"), pl.lit(":"), _port(0),
            pl.lit('","downstream_local_address":"10.3.0.5:8443","requested_server_name":'), jstr("host"),
            pl.lit("}"),
        ]
    )
    write_lines(df.select(line.alias("line"))["line"], path, append)


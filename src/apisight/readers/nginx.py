"""nginx access logs: ``combined``, ``common`` and any custom ``log_format`` string.

A ``log_format`` is compiled once into one regular expression with a named group per
variable, then applied to a whole batch with Polars (Rust regex). Variables map onto
the raw event columns; ``$http_<name>`` and ``$sent_http_<name>`` become request and
response headers, so a format that logs ``$http_x_api_key`` or ``$http_authorization``
feeds authentication extraction with no extra setting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from apisight.errors import ConfigError
from apisight.events import TIMESTAMP
from apisight.readers.base import LineReader, ParseResult, ReaderOptions, rejects, split_request_line

COMBINED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent"'
)
#: combined, common, and combined followed by extra fields (nginx's ``main`` adds XFF).
#: Not anchored at the end, so formats that append fields to combined still parse.
DEFAULT_PATTERN = (
    r'^(?P<remote_addr>\S+) \S+ (?P<remote_user>\S+) \[(?P<time_local>[^\]]+)\] "(?P<request>[^"]*)" '
    r"(?P<status>\d{3}) (?P<body_bytes_sent>\d+|-)"
    r'(?: "(?P<http_referer>[^"]*)" "(?P<http_user_agent>[^"]*)"(?: "(?P<http_x_forwarded_for>[^"]*)")?)?'
)

_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")

#: Variables with a narrower shape than "anything up to the next separator".
_SHAPES = {
    "status": r"\d{3}",
    "time_local": r"\d{1,2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}",
    "msec": r"\d+(?:\.\d+)?",
    "body_bytes_sent": r"\d+|-",
    "bytes_sent": r"\d+|-",
    "request_length": r"\d+|-",
    "host": r"[^\s/\"]*",
    "http_host": r"[^\s/\"]*",
    "server_name": r"[^\s/\"]*",
    "scheme": r"https?|wss?|-",
}

#: nginx variable -> raw column, for variables that are not headers.
_COLUMNS = {
    "remote_addr": "peer_ip",
    "remote_user": "remote_user",
    "request_method": "method",
    "request_uri": "target",
    "uri": "path",
    "document_uri": "path",
    "args": "query",
    "query_string": "query",
    "scheme": "scheme",
    "status": "status",
    "body_bytes_sent": "response_bytes",
    "bytes_sent": "response_bytes",
    "request_length": "request_bytes",
    "request_id": "request_id",
    "content_type": "request_content_type",
}
_HOST_VARIABLES = ["host", "http_host", "server_name"]
#: Request headers that have a canonical column of their own (kept out of request_headers).
_HEADER_COLUMNS = {
    "user-agent": "user_agent",
    "referer": "referer",
    "x-forwarded-for": "forwarded_for",
    "forwarded": "forwarded",
    "x-request-id": "request_id",
    "content-type": "request_content_type",
    "host": "host",
}


@dataclass(frozen=True)
class CompiledFormat:
    """A log_format as a regex plus the variables it captures, in order."""

    pattern: str
    variables: tuple[str, ...]


def compile_log_format(log_format: str) -> CompiledFormat:
    """Compile an nginx ``log_format`` string into an anchored regular expression.

    Raises :class:`ConfigError` if the format has no variables or no way to get a time
    and a request.
    """
    parts: list[str] = []
    variables: list[str] = []
    pos = 0
    for m in _VARIABLE.finditer(log_format):
        literal = log_format[pos : m.start()]
        parts.append(re.escape(literal))
        name = m.group(1) or m.group(2)
        follower = log_format[m.end() : m.end() + 1]
        quoted = literal.endswith('"') and follower == '"'
        bracketed = literal.endswith("[") and follower == "]"
        group = name if name not in variables else f"{name}__{len(variables)}"
        if name in _SHAPES:
            shape = _SHAPES[name]
        elif quoted:
            shape = r'(?:[^"\\]|\\.)*'
        elif bracketed:
            shape = r"[^\]]*"
        elif not follower:
            shape = r".*?"
        elif follower == "$":
            shape = r"\S*?"
        else:
            shape = r"\S*" if follower == " " else rf"[^{re.escape(follower)}]*"
        parts.append(f"(?P<{group}>{shape})")
        variables.append(name)
        pos = m.end()
    parts.append(re.escape(log_format[pos:]))
    if not variables:
        raise ConfigError(f"log format {log_format!r} has no $variables; copy it from your nginx log_format")
    has_time = {"time_local", "time_iso8601", "msec"} & set(variables)
    has_request = {"request", "request_uri", "uri"} & set(variables)
    if not has_time or not has_request:
        raise ConfigError(
            f"log format {log_format!r} needs a time ($time_local, $time_iso8601 or $msec) "
            "and a request ($request or $request_uri)"
        )
    return CompiledFormat("^" + "".join(parts) + "$", tuple(variables))


class NginxReader(LineReader):
    """nginx access log lines (combined/common by default, or ``--log-format``)."""

    name: ClassVar[str] = "nginx"
    description: ClassVar[str] = "nginx access log: combined, common, or a custom log_format (--log-format)"
    #: nginx writes the time a request *ended*; Apache's %t is when it was received.
    logs_start_time: ClassVar[bool] = False

    def __init__(self, options: ReaderOptions | None = None) -> None:
        super().__init__(options)
        if self.options.log_format:
            self.compiled = compile_log_format(self.options.log_format)
        else:
            self.compiled = CompiledFormat(
                DEFAULT_PATTERN,
                ("remote_addr", "remote_user", "time_local", "request", "status", "body_bytes_sent",
                 "http_referer", "http_user_agent", "http_x_forwarded_for"),
            )

    def parse(self, lines: pl.DataFrame) -> ParseResult:
        groups = pl.col("line").str.extract_groups(self.compiled.pattern)
        frame = lines.with_columns(groups.alias("_g")).unnest("_g")
        first = self.compiled.variables[0]
        matched = frame[first].is_not_null()
        frame = frame.with_columns(_null_dashes(frame.columns, self.compiled.variables))
        if "request" in self.compiled.variables:
            frame = split_request_line(frame)
        raw = frame.select(["line_no", *self._columns(frame.columns)])
        bad_time = raw["ts"].is_null() & matched
        bad_request = (
            raw["method"].is_null() | raw["target"].is_null() if "target" in raw.columns else pl.Series([False])
        ) & matched & ~bad_time
        keep = matched & ~bad_time & ~bad_request
        malformed = pl.concat(
            [
                rejects(lines, ~matched, f"does not match the {self._format_name()} log format"),
                rejects(lines, bad_time, "bad timestamp"),
                rejects(lines, bad_request, "bad request line"),
            ]
        ).sort("line_no")
        return ParseResult(raw.filter(keep), malformed)

    def _format_name(self) -> str:
        return "configured" if self.options.log_format else "combined/common"

    def _columns(self, present: list[str]) -> list[pl.Expr]:
        v = set(self.compiled.variables)
        out: list[pl.Expr] = []
        latency_ms = None
        if "request_time_us" in v:
            latency_ms = pl.col("request_time_us").cast(pl.Float64, strict=False) / 1000
        elif "request_time" in v:
            latency_ms = pl.col("request_time").cast(pl.Float64, strict=False) * 1000
        elif "upstream_response_time" in v:
            first = pl.col("upstream_response_time").str.extract(r"([\d.]+)")
            latency_ms = first.cast(pl.Float64, strict=False) * 1000
        if latency_ms is not None:
            out.append(latency_ms.alias("latency_ms"))
        out.append(_timestamp(v, None if self.logs_start_time else latency_ms).alias("ts"))
        if "request" in v:  # split by parse()
            out.extend([pl.col("_request_method").alias("method"), pl.col("_request_target").alias("target")])
        for var, column in _COLUMNS.items():
            if var in v and not (column == "method" and "request" in v) and not (
                column == "target" and "request" in v
            ):
                out.append(pl.col(var).alias(column))
        hosts = [pl.col(h).str.replace(r":\d+$", "") for h in _HOST_VARIABLES if h in v]
        if hosts:
            out.append(pl.coalesce(hosts).alias("host"))
        request_headers = {var[5:].replace("_", "-"): var for var in v if var.startswith("http_")}
        response_headers = {var[10:].replace("_", "-"): var for var in v if var.startswith("sent_http_")}
        for header, column in _HEADER_COLUMNS.items():
            if header in request_headers:
                variable = request_headers.pop(header)
                if column not in {e.meta.output_name() for e in out}:
                    out.append(pl.col(variable).alias(column))
        if "content-type" in response_headers:
            out.append(pl.col(response_headers["content-type"]).alias("response_content_type"))
        if request_headers:
            out.append(_headers_json(request_headers).alias("request_headers"))
        if response_headers:
            out.append(_headers_json(response_headers).alias("response_headers"))
        return out


def _timestamp(v: set[str], latency_ms: pl.Expr | None) -> pl.Expr:
    """Request start time: nginx logs the end of the request, so subtract its duration."""
    if "time_iso8601" in v:
        end = pl.col("time_iso8601").str.to_datetime("%Y-%m-%dT%H:%M:%S%:z", time_zone="UTC", strict=False)
    elif "time_local" in v:
        end = pl.col("time_local").str.to_datetime("%d/%b/%Y:%H:%M:%S %z", time_zone="UTC", strict=False)
    else:
        end = pl.from_epoch((pl.col("msec").cast(pl.Float64, strict=False) * 1e6).cast(pl.Int64), "us")
        end = end.dt.replace_time_zone("UTC")
    end = end.cast(TIMESTAMP)
    if latency_ms is None:
        return end
    offset = pl.duration(microseconds=(latency_ms.fill_null(0) * 1000).cast(pl.Int64))
    return end - offset


def _null_dashes(columns: list[str], variables: tuple[str, ...]) -> list[pl.Expr]:
    wanted = [c for c in dict.fromkeys(variables) if c in columns]
    return [pl.when(pl.col(c) == "-").then(None).otherwise(pl.col(c)).alias(c) for c in wanted]


def _headers_json(headers: dict[str, str]) -> pl.Expr:
    return pl.struct([pl.col(column).alias(name) for name, column in headers.items()]).struct.json_encode()

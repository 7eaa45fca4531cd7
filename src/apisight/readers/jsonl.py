"""Generic JSON lines: any one-object-per-line request log, mapped by JSONPath.

``ReaderOptions.field_map`` maps canonical fields (the keys of
:data:`apisight.events.RAW_COLUMNS`) to JSONPaths, e.g. ``{"ts": "$.time",
"method": "$.req.method"}``. Fields the map leaves out are guessed from common key
names (``timestamp``, ``method``, ``url``, ``status``, ``remote_addr``, pino's
``req``/``res``, ...): the guesses are resolved once per batch from a sample of lines.
Each line is then decoded once, taking the top-level values the plan names as text;
nested keys are looked up in those (small) texts, and only a JSONPath that is more than
a chain of keys is matched against the whole line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import orjson
import polars as pl

from apisight.errors import ConfigError
from apisight.events import RAW_COLUMNS, TIMESTAMP
from apisight.readers.base import LineReader, ParseResult, ReaderOptions, rejects
from apisight.readers.fields import duration_ms, flat_headers, null_dash, parse_timestamp, peer_address
from apisight.readers.jsonlines import decode_json_objects
from apisight.sources import Source

FIELDS = [name for name in RAW_COLUMNS if name not in ("line_no", "record_hash")]

#: Guessed locations of each field, most specific first. A tuple is a nested key path.
# fmt: off
GUESSES: dict[str, list[tuple[str, ...]]] = {
    "ts": [("@timestamp",), ("timestamp",), ("time",), ("ts",), ("time_iso8601",), ("time_local",),
           ("datetime",), ("date",), ("start_time",), ("startTime",), ("started_at",), ("requestTimeEpoch",), ("requestTime",)],
    "method": [("method",), ("request_method",), ("http_method",), ("httpMethod",), ("verb",),
               ("req", "method"), ("request", "method"), ("http", "method"), ("http", "request", "method")],
    "target": [("request_uri",), ("uri",), ("url",), ("path",), ("request_path",), ("requestUri",),
               ("req", "url"), ("req", "path"), ("request", "url"), ("request", "uri"), ("request", "path"),
               ("http", "url"), ("url", "original")],
    "query": [("query_string",), ("querystring",), ("args",), ("query",)],
    "status": [("status",), ("status_code",), ("statusCode",), ("response_code",), ("http_status",),
               ("res", "statusCode"), ("res", "status"), ("response", "status"), ("response", "status_code"),
               ("http", "status_code"), ("http", "response", "status_code")],
    "latency_ms": [("latency_ms",), ("duration_ms",), ("elapsed_ms",), ("response_time_ms",),
                   ("request_time_ms",), ("responseTime",), ("response_time",), ("duration",), ("latency",),
                   ("took",), ("request_time",), ("upstream_response_time",)],
    "host": [("host",), ("http_host",), ("authority",), ("vhost",), ("server_name",), ("domain",)],
    "scheme": [("scheme",)],
    "peer_ip": [("remote_addr",), ("client_ip",), ("clientip",), ("remote_ip",), ("ip",),
                ("src_ip",), ("source_ip",), ("remoteAddress",), ("sourceIp",), ("req", "remoteAddress"),
                ("client", "ip")],
    "forwarded_for": [("http_x_forwarded_for",), ("x_forwarded_for",), ("forwarded_for",), ("xff",)],
    "user_agent": [("http_user_agent",), ("user_agent",), ("userAgent",), ("agent",), ("ua",)],
    "referer": [("http_referer",), ("referer",), ("referrer",), ("http_referrer",)],
    "request_id": [("request_id",), ("requestId",), ("req_id",), ("x_request_id",), ("trace_id",),
                   ("traceId",), ("req", "id")],
    "request_bytes": [("request_length",), ("bytes_received",), ("request_size",), ("bytes_in",)],
    "response_bytes": [("body_bytes_sent",), ("bytes_sent",), ("response_size",), ("responseLength",),
                       ("bytes_out",), ("bytes",), ("size",)],
    "remote_user": [("remote_user",)],
    "principal": [("principal",), ("user_id",), ("userId",)],
    "request_content_type": [("content_type",), ("request_content_type",)],
    "response_content_type": [("sent_http_content_type",), ("response_content_type",)],
    "request_headers": [("request_headers",), ("req", "headers"), ("request", "headers")],
    "response_headers": [("response_headers",), ("res", "headers"), ("response", "headers")],
    "request_body": [("request_body",)],
    "response_body": [("response_body",)],
}
# fmt: on
#: Durations logged in seconds by convention (nginx); every other guess is milliseconds.
SECONDS_KEYS = {"request_time", "upstream_response_time"}
#: How many lines of a batch are looked at to resolve the guesses.
SAMPLE_LINES = 64
#: What of a source decides its field mapping once, with every batch's own sample added.
SOURCE_SAMPLE_LINES = 256
SOURCE_SAMPLE_BYTES = 256 * 1024

_REQUEST_LINE = r"^(?P<method>[A-Za-z]+) (?P<target>\S+)(?: HTTP/[\d.]+)?$"
#: One step of a JSONPath that is a plain chain of keys: ``.name``, ``['name']`` or ``["name"]``.
_KEY_STEP = re.compile(r"""\.([A-Za-z_@$][\w@$-]*)|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\]""")


class JsonlReader(LineReader):
    """JSON lines with a user field mapping, or common key names guessed."""

    name: ClassVar[str] = "jsonl"
    description: ClassVar[str] = (
        "generic JSON lines (field_map: canonical field -> JSONPath, or guessed keys)"
    )

    def __init__(self, options: ReaderOptions | None = None) -> None:
        super().__init__(options)
        self.field_map = validate_field_map(self.options.field_map)
        self._source_sample: list[dict[str, Any]] = []

    def tasks(self, source: Source) -> Iterator[Callable[[], ParseResult]]:
        """As every line reader's, with the field mapping decided for the whole source: the keys
        of its first lines join every batch's own, so a batch whose first lines have another
        shape (files that mix shapes) still finds the fields of the rest."""
        head = source.head(SOURCE_SAMPLE_BYTES).decode("utf-8", "replace").splitlines()[:SOURCE_SAMPLE_LINES]
        self._source_sample = [o for o in map(_load, head) if isinstance(o, dict)]
        yield from super().tasks(source)  # each task carries this reader, sample included

    def sniff(self, head: list[str]) -> bool:
        objects = [o for o in (_load(line) for line in head) if isinstance(o, dict)]
        if not objects or len(objects) * 2 < len(head):
            return False
        if self.field_map:
            return True
        plan = self._resolve(objects)
        return "ts" in plan and "status" in plan and bool({"method", "target", "_request"} & set(plan))

    def parse(self, lines: pl.DataFrame) -> ParseResult:
        text = lines["line"]
        spread = text.gather_every(max(text.len() // SAMPLE_LINES, 1)) if text.len() > SAMPLE_LINES else text.clear()
        sample = [_load(line) for line in pl.concat([text.head(SAMPLE_LINES), spread])]
        plan = self._resolve(self._source_sample + [o for o in sample if isinstance(o, dict)])
        keys = {path: _keys(path) for sources in plan.values() for path, _ in sources}
        top = list(dict.fromkeys(k[0] for k in keys.values() if k))
        # Top-level values by position, so no key can collide with line_no or a field name.
        dtype = pl.Struct({key: pl.String for key in top} or {"__apisight_probe__": pl.String})
        decoded = decode_json_objects(lines, dtype)
        good, malformed = decoded.lines, decoded.malformed
        values = decoded.values.rename({key: f"_k{i}" for i, key in enumerate(top)}) if top else None
        inputs = [good["line_no"], *(values.get_columns() if values is not None else [])]
        if any(k is None for k in keys.values()):
            inputs.append(good["line"])  # for JSONPaths that are more than a chain of keys
        located = {path: _located(k, top, path) for path, k in keys.items()}
        frame = pl.DataFrame(inputs).select(
            "line_no", *[_extract(field, sources, located).alias(field) for field, sources in plan.items()]
        )
        frame = frame.with_columns(_columns(plan))
        if "ts" not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=TIMESTAMP).alias("ts"))
        frame = flat_headers(frame, [c for c in ("request_headers", "response_headers") if c in plan])

        ts_raw = pl.col("_ts_raw") if "ts" in plan else pl.lit(None, dtype=pl.String)
        status_raw = pl.col("status") if "status" in plan else pl.lit(None, dtype=pl.String)
        request_fields = [c for c in ("method", "target", "path", "status") if c in frame.columns]
        checks = frame.select(
            ts_raw.is_null().alias("no_ts"),
            (ts_raw.is_not_null() & pl.col("ts").is_null()).alias("bad_ts"),
            (status_raw.is_not_null() & ~status_raw.str.contains(r"^\d{1,3}$")).alias("bad_status"),
            pl.all_horizontal([pl.col(c).is_null() for c in request_fields] or [pl.lit(True)]).alias(
                "no_request"
            ),
        )
        no_request = checks["no_request"]
        no_ts = checks["no_ts"] & ~no_request
        bad_ts = checks["bad_ts"] & ~no_request
        bad_status = checks["bad_status"] & ~no_request & ~no_ts & ~bad_ts
        keep = ~(no_request | no_ts | bad_ts | bad_status)
        ts_where = " or ".join(path for path, _ in plan["ts"]) if "ts" in plan else "no timestamp key found"
        malformed = pl.concat(
            [
                malformed,
                rejects(good, no_request, "no request fields (method, path/url or status) found"),
                rejects(good, no_ts, f"missing timestamp ({ts_where})"),
                rejects(good, bad_ts, "bad timestamp"),
                rejects(good, bad_status, "bad status"),
            ]
        ).sort("line_no")
        columns = [c for c in frame.columns if c in FIELDS]
        records = frame.filter(keep).select(
            "line_no", *[pl.col(c).cast(RAW_COLUMNS[c], strict=False) for c in columns]
        )
        return ParseResult(records, malformed)

    def _resolve(self, sample: list[dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
        """Where each field comes from: ``[(JSONPath, unit)]``, first non-null wins.

        The user's path when the map names the field, else every guess present in
        ``sample`` (in guess order), so a batch mixing shapes still finds its fields.
        """
        plan: dict[str, list[tuple[str, str]]] = {}
        for field, candidates in GUESSES.items():
            if field in self.field_map:
                continue
            wanted = dict if field in ("request_headers", "response_headers") else (str, int, float)
            found = [
                (_path(keys), "s" if keys[-1] in SECONDS_KEYS else "ms")
                for keys in candidates
                if any(isinstance(_lookup(obj, keys), wanted) for obj in sample)
            ]
            if found:
                plan[field] = found
        if "method" not in self.field_map and any(
            isinstance(_lookup(obj, ("request",)), str) for obj in sample
        ):
            plan["_request"] = [(_path(("request",)), "ms")]  # an nginx-style "GET /p HTTP/1.1"
        plan.update({field: [(path, "ms")] for field, path in self.field_map.items()})
        return plan


def validate_field_map(field_map: Mapping[str, str]) -> dict[str, str]:
    """The field map, checked: known canonical fields, JSONPaths starting with ``$``."""
    unknown = sorted(set(field_map) - set(FIELDS))
    if unknown:
        raise ConfigError(
            f"field_map: unknown field(s) {', '.join(unknown)}; valid fields: {', '.join(FIELDS)}"
        )
    for field, path in field_map.items():
        if not isinstance(path, str) or not path.startswith("$"):
            raise ConfigError(f"field_map.{field}: expected a JSONPath starting with '$', got {path!r}")
    return dict(field_map)


# --- internals ----------------------------------------------------------------------------


def _extract(field: str, sources: list[tuple[str, str]], located: dict[str, pl.Expr]) -> pl.Expr:
    """The first of ``sources`` present in each line, ``-``/empty counting as absent."""
    if field == "latency_ms":
        values = [duration_ms(null_dash(located[path]), unit) for path, unit in sources]
    else:
        values = [null_dash(located[path]) for path, _ in sources]
    return pl.coalesce(values) if len(values) > 1 else values[0]


def _keys(path: str) -> tuple[str, ...] | None:
    """The keys of a JSONPath that is a plain chain of them (``$.a['b c']``), else None."""
    steps = list(_KEY_STEP.finditer(path, 1))
    if not path.startswith("$") or not steps or "".join(m.group(0) for m in steps) != path[1:]:
        return None
    keys = [m.group(1) or re.sub(r"\\(.)", r"\1", m.group(2) or m.group(3) or "") for m in steps]
    return tuple(keys)


def _located(keys: tuple[str, ...] | None, top: list[str], path: str) -> pl.Expr:
    """The text at ``path``: a decoded top-level value, a key inside one, or a match on the line."""
    if keys is None:
        return pl.col("line").str.json_path_match(path)
    value = pl.col(f"_k{top.index(keys[0])}")
    return value.str.json_path_match(_path(keys[1:])) if len(keys) > 1 else value


def _columns(plan: dict[str, list[tuple[str, str]]]) -> list[pl.Expr]:
    out: list[pl.Expr] = []
    if "ts" in plan:
        out += [pl.col("ts").alias("_ts_raw"), parse_timestamp(pl.col("ts")).alias("ts")]
    method = pl.col("method") if "method" in plan else pl.lit(None, dtype=pl.String)
    target = pl.col("target") if "target" in plan else pl.lit(None, dtype=pl.String)
    if "_request" in plan:
        request = pl.col("_request").str.extract_groups(_REQUEST_LINE)
        method = pl.coalesce(method, request.struct.field("method"))
        target = pl.coalesce(target, request.struct.field("target"))
    if "method" in plan or "_request" in plan:
        out += [method.str.to_uppercase().alias("method"), target.alias("target")]
    if "peer_ip" in plan:
        out.append(peer_address(pl.col("peer_ip")).alias("peer_ip"))
    return out


def _path(keys: tuple[str, ...]) -> str:
    return "$" + "".join("['" + k.replace("\\", "\\\\").replace("'", "\\'") + "']" for k in keys)


def _lookup(obj: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _load(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None

"""The observed API as an OpenAPI 3.1 document, built from the ``endpoints`` table.

::

    doc = build_openapi(load_endpoints(catalog.db), host=None, title="Observed API")
    yaml.safe_dump(doc, sort_keys=False)   # or json.dumps(doc)

The document says what traffic showed, not what a team promised: every operation carries
an ``x-apisight`` extension with its spec status, volume, first/last seen, clients,
latency percentiles, auth and exposure histograms, owner and drift. Rows never seen
(``count == 0``, spec status ``unused``) are left out.

Several hosts: the document lists one server per host. A path key must be unique, so
operations of all hosts share one path item per template; ``servers`` on the path item
(when all its operations come from the same hosts) or on the operation says where each
one was seen. The same method and template seen on several hosts is one operation whose
facts are merged (counts and histograms summed, parameters and JSON schemas united) and
whose ``x-apisight.hosts`` keeps each host's own facts. Templates that differ only in
parameter names (``/users/{id}`` vs ``/users/{user_id}``) are the same path to OpenAPI
and are merged the same way, under the first name in sort order.

Examples are masked shapes (``9999-99-99``, ``xxx``), never values: shapes are re-masked
here so a value cannot leak even from a hand-built table. Methods OpenAPI 3.1 cannot
express (``PROPFIND``, ``CONNECT`` …) go under the path item's ``x-apisight-operations``;
rows whose path is not a ``/``-path are listed in the root ``x-apisight.skipped``.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

import orjson
import polars as pl
from genson import SchemaBuilder

from apisight import __version__
from apisight.errors import InputError

OPENAPI_METHODS = ("delete", "get", "head", "options", "patch", "post", "put", "trace")
JSON_COLUMNS = {
    "tags": list, "status_codes": dict, "auth": dict, "exposure": dict, "params": list,
    "request_content_types": dict, "response_content_types": dict, "drift": list,
}
#: auth kind -> (security scheme name, scheme object); ``none``, ``other``, ``unknown`` have none.
SECURITY_SCHEMES: dict[str, tuple[str, dict[str, Any]]] = {
    "bearer": ("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}),
    "basic": ("basicAuth", {"type": "http", "scheme": "basic"}),
    "api_key": ("apiKeyAuth", {"type": "apiKey", "in": "header"}),
}
_PARAM = re.compile(r"\{([^{}/]+)\}")
_STATUS = re.compile(r"[1-5][0-9][0-9]")
_QUERY_TYPES: dict[str, dict[str, str]] = {
    "integer": {"type": "integer"}, "number": {"type": "number"}, "boolean": {"type": "boolean"},
    "uuid": {"type": "string", "format": "uuid"}, "date": {"type": "string", "format": "date"},
}


def build_openapi(
    endpoints: pl.DataFrame,
    *,
    host: str | None = None,
    title: str = "Observed API",
    api_key_header: str = "X-API-Key",
) -> dict[str, Any]:
    """An OpenAPI 3.1 document of the endpoints observed in ``endpoints`` (rows of that table).

    ``host`` keeps one host's endpoints only. ``api_key_header`` names the header of the
    ``apiKey`` security scheme (traffic records say an API key was sent, not in which
    header). The result is deterministic whatever the row order, and plain data:
    ``json.dumps`` and ``yaml.safe_dump`` take it as is.
    """
    rows, skipped = [], []
    for raw in endpoints.iter_rows(named=True):
        if not raw.get("count") or (host is not None and (raw.get("host") or "").lower() != host.lower()):
            continue
        row = _parse(raw)
        if not str(row["path"]).startswith("/"):
            skipped.append({"host": row["host"], "method": row["method"], "path": row["path"],
                            "reason": "not an absolute path"})
            continue
        rows.append(row)
    rows.sort(key=lambda r: (_canonical(r["path"]), r["method"], r["host"], r["path"]))
    hosts = sorted({r["host"] for r in rows})
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((_canonical(row["path"]), row["method"]), []).append(row)
    path_keys: dict[str, str] = {}
    for row in rows:
        path_keys.setdefault(_canonical(row["path"]), row["path"])  # rows are sorted: first name wins
    op_ids = _OperationIds(r["operation_id"] for r in rows if r.get("operation_id"))
    paths: dict[str, dict[str, Any]] = {}
    schemes: set[str] = set()
    for (canonical, method), group in groups.items():
        key = path_keys[canonical]
        op, op_hosts = _operation(key, method, group, op_ids, api_key_header)
        schemes |= {k for r in group for k, n in r["auth"].items() if n and k in SECURITY_SCHEMES}
        item = paths.setdefault(key, {})
        if len(hosts) > 1:
            op["servers"] = _servers(op_hosts)
        if method.lower() in OPENAPI_METHODS:
            item[method.lower()] = op
        else:
            item.setdefault("x-apisight-operations", {})[method] = op
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": _info(title, rows),
    }
    if hosts:
        doc["servers"] = _servers(hosts)
    doc["paths"] = {k: _path_item(k, paths[k]) for k in sorted(paths)}
    if schemes:
        doc["components"] = {"securitySchemes": {
            SECURITY_SCHEMES[k][0]: _scheme(k, api_key_header) for k in sorted(schemes, key=_scheme_order)
        }}
    tags = sorted({t for r in rows for t in r["tags"]})
    if tags:
        doc["tags"] = [{"name": t} for t in tags]
    doc["x-apisight"] = {"generator": f"apisight {__version__}", "hosts": hosts, "endpoints": len(rows)}
    if skipped:
        doc["x-apisight"]["skipped"] = skipped
    return doc


def _parse(raw: dict[str, Any]) -> dict[str, Any]:
    """One endpoints row with its JSON columns decoded (or an error naming the row and column)."""
    row = dict(raw)
    row["host"] = row.get("host") or ""
    row["method"] = str(row.get("method") or "").upper()
    row["path"] = row.get("path") or ""
    for column, kind in JSON_COLUMNS.items():
        row[column] = _json(row, column, kind)
    for column in ("request_schema", "response_schema"):
        value = _json(row, column, dict)
        row[column] = value or None
    return row


def _json(row: dict[str, Any], column: str, kind: type) -> Any:
    value = row.get(column)
    if value is None or value == "":
        return kind()
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError as e:
            raise InputError(
                f"endpoints row {row['method']} {row['host']}{row['path']}: column {column} is not JSON ({e})"
            ) from e
    if not isinstance(value, kind):
        raise InputError(
            f"endpoints row {row['method']} {row['host']}{row['path']}: column {column} is not a JSON {kind.__name__}"
        )
    return value


def _canonical(path: str) -> str:
    """The path as OpenAPI compares them: parameter names do not count."""
    return _PARAM.sub("{}", path)


def _info(title: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    first = min((r["first_seen"] for r in rows if r.get("first_seen") is not None), default=None)
    last = max((r["last_seen"] for r in rows if r.get("last_seen") is not None), default=None)
    window = f" between {_iso(first)} and {_iso(last)}" if first is not None and last is not None else ""
    return {
        "title": title,
        "version": f"observed-{str(_iso(last))[:10]}" if last is not None else "observed",
        "description": f"Endpoints observed in traffic{window} by apisight: what was called, not a contract.",
    }


def _servers(hosts: list[str]) -> list[dict[str, str]]:
    return [{"url": f"https://{h}"} if h else {"url": "/", "description": "host not recorded"} for h in hosts]


def _scheme(kind: str, api_key_header: str) -> dict[str, Any]:
    scheme = dict(SECURITY_SCHEMES[kind][1])
    if kind == "api_key":
        scheme["name"] = api_key_header
    return scheme


def _scheme_order(kind: str) -> int:
    return list(SECURITY_SCHEMES).index(kind)


def _path_item(key: str, ops: dict[str, Any]) -> dict[str, Any]:
    """Path-level parameters, operations in method order, servers hoisted when all agree."""
    names = list(dict.fromkeys(_PARAM.findall(key)))
    item: dict[str, Any] = {}
    if names:
        item["parameters"] = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
        ]
    standard = {m: ops[m] for m in sorted(ops) if m in OPENAPI_METHODS}
    servers = [orjson.dumps(op.get("servers")) for op in standard.values()]
    if standard and servers[0] != b"null" and len(set(servers)) == 1:
        item["servers"] = next(iter(standard.values()))["servers"]
        for op in standard.values():
            del op["servers"]
    item.update(standard)
    if "x-apisight-operations" in ops:
        item["x-apisight-operations"] = {m: ops["x-apisight-operations"][m] for m in sorted(ops["x-apisight-operations"])}
    return item


class _OperationIds:
    """Unique operationIds: the spec's where given, else ``<method>_<path words>``; ``_2``… on a clash."""

    def __init__(self, spec_ids: Any) -> None:
        self.reserved = set(spec_ids)
        self.used: set[str] = set()

    def take(self, wanted: str | None, method: str, path: str) -> str:
        if wanted and wanted not in self.used:
            self.used.add(wanted)
            return wanted
        words = re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_") or "root"
        base = wanted or f"{method.lower()}_{words}"
        candidate, n = base, 1
        while candidate in self.used or (candidate != wanted and candidate in self.reserved):
            n += 1
            candidate = f"{base}_{n}"
        self.used.add(candidate)
        return candidate


def _operation(
    key: str, method: str, group: list[dict[str, Any]], ids: _OperationIds, api_key_header: str
) -> tuple[dict[str, Any], list[str]]:
    """One operation from the rows of one (template, method), one row per host."""
    hosts = [r["host"] for r in group]
    spec_ids = sorted({r["operation_id"] for r in group if r.get("operation_id")})
    op: dict[str, Any] = {"operationId": ids.take(spec_ids[0] if spec_ids else None, method, key)}
    tags = sorted({t for r in group for t in r["tags"]})
    if tags:
        op["tags"] = tags
    if any(r.get("deprecated") or r.get("spec_status") == "zombie" for r in group):
        op["deprecated"] = True
    params = _query_parameters(group)
    if params:
        op["parameters"] = params
    body = _request_body(group)
    if body:
        op["requestBody"] = body
    op["responses"] = _responses(group)
    security = _security(group)
    if security is not None:
        op["security"] = security
    facts = [_facts(r, key) for r in group]
    if len(facts) == 1:
        op["x-apisight"] = facts[0]
    else:
        op["x-apisight"] = {
            "count": sum(f["count"] for f in facts),
            "first_seen": min((f["first_seen"] for f in facts if f["first_seen"]), default=None),
            "last_seen": max((f["last_seen"] for f in facts if f["last_seen"]), default=None),
            "hosts": facts,
        }
    return op, hosts


def _query_parameters(group: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for row in group:
        for p in row["params"]:
            if isinstance(p, dict) and p.get("name") and p.get("in", "query") == "query":
                by_name.setdefault(str(p["name"]), []).append(p)
    out = []
    for name in sorted(by_name):
        seen = by_name[name]
        types = {p.get("type") or "string" for p in seen}
        shapes = sorted(_mask(str(p["example_shape"])) for p in seen if p.get("example_shape"))
        kind = types.pop() if len(types) == 1 else "string"
        schema = dict(_QUERY_TYPES.get(kind, {"type": "string"}))
        if kind == "date" and any(s != "9999-99-99" for s in shapes):
            del schema["format"]  # the store's "date" also covers timestamps of any form
        param: dict[str, Any] = {
            "name": name, "in": "query",
            # required only when every request of every host carried it
            "required": len(seen) == len(group) and all(bool(p.get("required")) for p in seen),
            "schema": schema,
        }
        if shapes:
            param["example"] = shapes[0]
        param["x-apisight"] = {
            "seen": sum(int(p.get("seen") or 0) for p in seen),
            "distinct_values": sum(int(p.get("distinct_values") or 0) for p in seen),
        }
        out.append(param)
    return out


def _mask(value: str) -> str:
    """A shape: digits -> 9, letters -> x (idempotent on shapes already masked)."""
    return "".join("9" if c.isdigit() else "x" if c.isalpha() else c for c in value)


def _request_body(group: list[dict[str, Any]]) -> dict[str, Any] | None:
    types = _sum_histograms(r["request_content_types"] for r in group)
    schema = _merge_schemas([r["request_schema"] for r in group])
    if not types and schema is None:
        return None
    content = _content(types, schema)
    with_body = sum(types.values())
    return {
        "description": f"Observed with a body {with_body} times" if with_body else "Observed with a JSON body",
        "content": content,
        "required": bool(with_body) and with_body >= sum(int(r["count"]) for r in group),
    }


def _responses(group: list[dict[str, Any]]) -> dict[str, Any]:
    codes = _sum_histograms(r["status_codes"] for r in group)
    types = _sum_histograms(r["response_content_types"] for r in group)
    schema = _merge_schemas([r["response_schema"] for r in group])
    out: dict[str, Any] = {}
    for code in sorted((c for c in codes if _STATUS.fullmatch(c)), key=int):
        n = codes[code]
        response: dict[str, Any] = {"description": f"Observed {n} time{'s' if n != 1 else ''}"}
        if code.startswith("2") and code not in ("204", "205") and (types or schema is not None):
            response["content"] = _content(types, schema)
        out[code] = response
    if not out:
        out["default"] = {"description": "No HTTP status code observed"}
    return out


def _content(types: dict[str, int], schema: dict[str, Any] | None) -> dict[str, Any]:
    """Media types by volume; the JSON schema goes under the JSON ones (all bodies sampled were JSON)."""
    names = sorted(types, key=lambda t: (-types[t], t)) or ["application/json"]
    if schema is not None and not any("json" in t for t in names):
        names.append("application/json")
    content: dict[str, Any] = {}
    for name in names:
        media: dict[str, Any] = {}
        if schema is not None and "json" in name:
            media["schema"] = _clean_schema(schema)
        content[name] = media
    return content


def _sum_histograms(histograms: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for h in histograms:
        for k, n in h.items():
            if k and n:
                total[str(k)] = total.get(str(k), 0) + int(n)
    return total


def _merge_schemas(schemas: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    present = [s for s in schemas if s]
    if len(present) <= 1:
        return present[0] if present else None
    builder = SchemaBuilder(schema_uri=None)
    for s in present:
        builder.add_schema(s)
    return builder.to_schema()


def _clean_schema(node: Any) -> Any:
    """A genson (draft 4–7) schema as JSON Schema 2020-12: no ``$schema``, no empty ``required``."""
    if isinstance(node, list):
        return [_clean_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k == "$schema":
            continue
        if k == "required":
            names = sorted({str(n) for n in v}) if isinstance(v, list) else []
            if names:
                out[k] = names
        elif k in ("properties", "patternProperties", "$defs", "definitions") and isinstance(v, dict):
            out[k] = {name: _clean_schema(s) for name, s in v.items()}
        else:
            out[k] = _clean_schema(v)
    if isinstance(out.get("items"), list):  # draft-4 tuple form
        out["prefixItems"] = out.pop("items")
        if "additionalItems" in out:
            out["items"] = out.pop("additionalItems")
    return out


def _security(group: list[dict[str, Any]]) -> list[dict[str, list[str]]] | None:
    """Schemes seen, as alternatives; ``{}`` too when some calls had no credentials."""
    auth = _sum_histograms(r["auth"] for r in group)
    kinds = sorted((k for k in auth if k in SECURITY_SCHEMES), key=_scheme_order)
    out: list[dict[str, list[str]]] = [{SECURITY_SCHEMES[k][0]: []} for k in kinds]
    if auth.get("none"):
        out.append({})
        return out if kinds else []  # only anonymous calls: explicitly public
    return out or None  # only other/unknown: say nothing


def _facts(row: dict[str, Any], key: str) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "host": row["host"],
        "spec_status": row.get("spec_status"),
        "count": int(row["count"]),
        "first_seen": _iso(row.get("first_seen")),
        "last_seen": _iso(row.get("last_seen")),
        "clients": row.get("clients"),
        "latency_ms": {p: _number(row.get(f"latency_{p}")) for p in ("p50", "p95", "p99")},
        "auth": dict(sorted(row["auth"].items())),
        "exposure": dict(sorted(row["exposure"].items())),
        "owner": row.get("owner"),
        "api_version": row.get("api_version"),
        "drift": row["drift"],
    }
    if row["path"] != key:
        facts["template"] = row["path"]
    return facts


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), 3)

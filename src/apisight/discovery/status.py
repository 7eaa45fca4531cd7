"""Spec status and drift per endpoint: what the traffic shows against what the specs say.

- ``documented``: the method and path are in a spec.
- ``shadow``: seen, in no spec (also a documented path called with an undocumented method).
- ``zombie``: the spec marks it deprecated, or it is an older version (``/v1/...``) whose
  successor (``/v2/...``) is documented — and it is still called.
- ``unused``: documented, never seen in the stored window.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import polars as pl

from apisight.discovery.spec_match import SpecMatcher
from apisight.discovery.spec_model import Spec, SpecOperation

KEYS = ["host", "method", "path"]
_VERSION = re.compile(r"/(v)(\d+)(?=/|$)", re.IGNORECASE)
_API_VERSION = re.compile(r"/(v\d+(?:\.\d+)?(?:alpha|beta)?\d*|\d{4}-\d{2}-\d{2})(?=/|$)", re.IGNORECASE)

ENDPOINT_COLUMNS = [
    "host", "method", "path", "spec_status", "spec_file", "operation_id", "deprecated", "owner", "tags",
    "api_version", "count", "first_seen", "last_seen", "status_codes", "latency_p50", "latency_p95",
    "latency_p99", "clients", "auth", "exposure", "params", "request_content_types", "response_content_types",
    "request_schema", "response_schema", "drift",
]


def assess(
    facts: pl.DataFrame, params: pl.DataFrame, schemas: pl.DataFrame, specs: list[Spec], previous: pl.DataFrame
) -> pl.DataFrame:
    """The ``endpoints`` table: traffic facts plus spec status, metadata and drift."""
    frame = facts.join(params, on=KEYS, how="left").join(schemas, on=KEYS, how="left")
    if previous.height:
        earlier = previous.select(*KEYS, pl.col("first_seen").alias("_prev_first"))
        frame = frame.join(earlier, on=KEYS, how="left").with_columns(
            pl.min_horizontal("first_seen", "_prev_first").alias("first_seen")
        )
    matcher = SpecMatcher(specs) if specs else None
    documented = _documented_templates(specs)
    rows = [_assess_row(row, matcher, documented) for row in frame.iter_rows(named=True)]
    seen = {(r["host"], r["method"], r["path"]) for r in rows}
    seen_ops = {(r["spec_file"], r["method"], r["path"]) for r in rows if r["spec_file"]}
    rows += _unused(specs, seen_ops, seen)
    rows += _aged_out(previous, seen)
    return _frame(rows)


def _assess_row(row: dict[str, Any], matcher: SpecMatcher | None, documented: set[tuple[str, str]]) -> dict[str, Any]:
    origin = row.get("origin")
    op = matcher.operation(row["spec_file"], row["method"], row["path"]) if matcher and row["spec_file"] else None
    drift: list[dict[str, str]] = []
    if origin == "spec" and op is not None:
        status = "zombie" if op.deprecated or _has_successor(row["method"], row["path"], documented) else "documented"
        drift = _drift(row, op)
    elif origin == "spec_path":
        status = "shadow"
        drift = [{"kind": "undocumented_method", "detail": f"{row['method']} is not documented for this path"}]
    else:
        status = "zombie" if _has_successor(row["method"], row["path"], documented) else "shadow"
    return {
        **{c: row.get(c) for c in ENDPOINT_COLUMNS},
        "spec_status": status,
        "deprecated": bool(op.deprecated) if op else None,
        "owner": op.owner if op else None,
        "tags": orjson.dumps(list(op.tags)).decode() if op else None,
        "api_version": _api_version(row["path"]),
        "drift": orjson.dumps(drift).decode(),
    }


def _drift(row: dict[str, Any], op: SpecOperation) -> list[dict[str, str]]:
    """Differences between the traffic of one endpoint and its documented operation."""
    out: list[dict[str, str]] = []
    observed_params = {p["name"] for p in orjson.loads(row.get("params") or "[]")}
    for name in sorted(observed_params - op.query_parameter_names):
        out.append({"kind": "undocumented_query_parameter", "detail": name})
    for code in sorted(orjson.loads(row.get("status_codes") or "{}")):
        if not op.documents_status(code):
            out.append({"kind": "undocumented_status", "detail": str(code)})
    for ctype in sorted(orjson.loads(row.get("response_content_types") or "{}")):
        if ctype and op.response_content_types and not op.documents_content_type(ctype):
            out.append({"kind": "undocumented_content_type", "detail": ctype})
    documented_fields = op.response_field_names()
    if documented_fields and row.get("response_schema"):
        observed = _schema_fields(orjson.loads(row["response_schema"]))
        for name in sorted(observed - documented_fields):
            out.append({"kind": "undocumented_response_field", "detail": name})
    if op.request_field_names and row.get("request_schema"):
        observed = _schema_fields(orjson.loads(row["request_schema"]))
        for name in sorted(observed - op.request_field_names):
            out.append({"kind": "undocumented_request_field", "detail": name})
    auth = orjson.loads(row.get("auth") or "{}")
    if op.requires_auth and auth.get("none"):
        out.append({"kind": "auth_mismatch", "detail": f"{auth['none']} requests without credentials; spec requires auth"})
    if op.requires_auth is False and any(auth.get(k) for k in ("bearer", "basic", "api_key")):
        out.append({"kind": "auth_mismatch", "detail": "credentials sent to an endpoint the spec documents as public"})
    return out


def _schema_fields(schema: dict[str, Any]) -> set[str]:
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        schema = schema["items"]
    props = set((schema.get("properties") or {}).keys())
    for part in schema.get("anyOf", []) or []:
        if isinstance(part, dict):
            props |= set((part.get("properties") or {}).keys())
    return props


def _documented_templates(specs: list[Spec]) -> set[tuple[str, str]]:
    return {(op.method, t) for spec in specs for op in spec.operations for t in op.full_templates}


def _has_successor(method: str, path: str, documented: set[tuple[str, str]]) -> bool:
    """Whether a higher version of the same path (``/v1/x`` -> ``/v2/x``) is documented."""
    m = _VERSION.search(path)
    if not m:
        return False
    shape = _VERSION.sub("/v#", path, count=1)
    for doc_method, template in documented:
        d = _VERSION.search(template)
        newer = doc_method == method and d and int(d.group(2)) > int(m.group(2))
        if newer and (_VERSION.sub("/v#", template, count=1).lower() == shape.lower() or _same_shape(template, path)):
            return True
    return False


def _same_shape(a: str, b: str) -> bool:
    """Same path with versions and parameter names ignored."""
    def norm(p: str) -> str:
        return re.sub(r"\{[^}]*\}", "{}", _VERSION.sub("/v#", p, count=1)).lower()

    return norm(a) == norm(b)


def _api_version(path: str) -> str | None:
    m = _API_VERSION.search(path)
    return m.group(1) if m else None


def _unused(specs: list[Spec], seen_ops: set[tuple[Any, ...]], seen: set[tuple[str, str, str]]) -> list[dict[str, Any]]:
    rows = []
    for spec in specs:
        for op in spec.operations:
            for template in op.full_templates[:1]:
                if (str(spec.path), op.method, template) in seen_ops:
                    continue
                host = op.hosts[0] if op.hosts else ""
                if (host, op.method, template) in seen:
                    continue
                rows.append({
                    **{c: None for c in ENDPOINT_COLUMNS},
                    "host": host, "method": op.method, "path": template, "spec_status": "unused",
                    "spec_file": str(spec.path), "operation_id": op.operation_id, "deprecated": op.deprecated,
                    "owner": op.owner, "tags": orjson.dumps(list(op.tags)).decode(),
                    "api_version": _api_version(template), "count": 0, "drift": "[]",
                })
    return rows


def _aged_out(previous: pl.DataFrame, seen: set[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Endpoints seen by earlier runs whose events retention has since removed: kept as they were."""
    if previous.height == 0:
        return []
    rows = []
    for row in previous.filter(pl.col("count") > 0).iter_rows(named=True):
        if (row["host"], row["method"], row["path"]) not in seen:
            rows.append({c: row.get(c) for c in ENDPOINT_COLUMNS})
    return rows


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema: dict[str, Any] = {c: pl.String for c in ENDPOINT_COLUMNS}
    schema.update({
        "deprecated": pl.Boolean, "count": pl.Int64, "clients": pl.Int64,
        "first_seen": pl.Datetime("us", "UTC"), "last_seen": pl.Datetime("us", "UTC"),
        "latency_p50": pl.Float64, "latency_p95": pl.Float64, "latency_p99": pl.Float64,
    })
    return pl.DataFrame(rows, schema=schema).sort(KEYS)

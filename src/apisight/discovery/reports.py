"""Inventory and drift as plain records, for the CLI's tables and ``--json``."""

from __future__ import annotations

from typing import Any

import orjson
import polars as pl

from apisight.discovery.drift import compare_with_spec
from apisight.discovery.export import build_openapi
from apisight.discovery.spec_model import Spec
from apisight.errors import StoreError
from apisight.store import Catalog
from apisight.store import inventory as q

SPEC_STATUSES = ("documented", "shadow", "zombie", "unused")
_JSON_COLUMNS = ("tags", "status_codes", "auth", "exposure", "params", "request_content_types",
                 "response_content_types", "request_schema", "response_schema", "drift")
_ORDER = {"zombie": 0, "shadow": 1, "documented": 2, "unused": 3}


def inventory_rows(catalog: Catalog, *, status: str | None = None, host: str | None = None) -> list[dict[str, Any]]:
    """Endpoints from the catalog, riskiest status first, then busiest."""
    if not q.table_exists(catalog.db, "endpoints"):
        return []
    frame = q.load_endpoints(catalog.db)
    if status:
        frame = frame.filter(pl.col("spec_status") == status)
    if host:
        frame = frame.filter(pl.col("host") == host)
    return _records(_with_roles(catalog, frame))


def _with_roles(catalog: Catalog, frame: pl.DataFrame) -> pl.DataFrame:
    """Each endpoint's role as detection sees it (stored by the last detection run, else inferred)."""
    from apisight.detect.roles import infer_role

    if q.table_exists(catalog.db, "endpoint_roles"):
        roles = catalog.db.sql("SELECT host, method, path, role FROM endpoint_roles").pl()
        frame = frame.join(roles, on=["host", "method", "path"], how="left")
    else:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("role"))
    missing = frame.filter(pl.col("role").is_null()).select("method", "path").unique()
    inferred = {(m, p): infer_role(m, p) for m, p in missing.iter_rows()}
    return frame.with_columns(
        pl.coalesce("role", pl.struct("method", "path").map_elements(
            lambda r: inferred.get((r["method"], r["path"]), "other"), return_dtype=pl.String)).alias("role"))


def observed_openapi(catalog: Catalog, *, host: str | None = None, api_key_header: str = "X-API-Key") -> dict[str, Any]:
    """The observed API as a validated OpenAPI 3.1 document."""
    if not q.table_exists(catalog.db, "endpoints"):
        raise StoreError("no inventory yet: run `apisight analyze` first")
    from openapi_spec_validator import validate  # heavy: imported only by the command that needs it
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    document = build_openapi(q.load_endpoints(catalog.db), host=host, api_key_header=api_key_header)
    try:
        validate(document)
    except OpenAPIValidationError as e:  # a bug of ours, not the user's: say so plainly
        raise StoreError(f"the generated OpenAPI document is invalid ({e.message}); please report this") from e
    return document


def drift_rows(catalog: Catalog, spec: Spec) -> list[dict[str, Any]]:
    """The comparison of stored traffic with ``spec`` (see :mod:`apisight.discovery.drift`)."""
    return _records(compare_with_spec(catalog, spec))


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    rows = frame.to_dicts()
    for row in rows:
        for column in _JSON_COLUMNS:
            value = row.get(column)
            row[column] = orjson.loads(value) if isinstance(value, str) and value else (
                [] if column in ("params", "drift", "tags") else ({} if column not in ("request_schema", "response_schema") else None)
            )
        row["count"] = row.get("count") or 0
    rows.sort(key=lambda r: (_ORDER.get(r["spec_status"], 9), -r["count"], r["host"] or "", r["path"], r["method"]))
    return rows

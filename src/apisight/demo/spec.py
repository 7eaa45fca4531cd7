"""OpenAPI 3.0 documents for DemoBank, derived from the endpoint catalogue.

They document what the teams *think* they expose: the shadow endpoint is left
out, the v1 profile endpoint is marked deprecated, and account responses show the
shape from before the rollout (the new field is drift the rollout introduces).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from apisight.demo import bank
from apisight.demo.endpoints import ENDPOINTS, Endpoint

_BARE = re.compile(r"(?<=[:\[,-])\{[a-z_0-9]+\}(?=[,}\]])")
_ANY = re.compile(r"\{([a-z_0-9]+)\}")
DECIMALS = {"amount", "amount2", "balance"}
UUID_PARAMS = {"payment_id", "payee_id", "card_id", "consent_id", "receipt_id", "link_id", "statement_id"}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}, "request_id": {"type": "string"}},
}
TITLES = {
    bank.RETAIL_HOST: ("DemoBank Retail API", "Accounts, cards, payees and payments for the mobile and web apps."),
    bank.PARTNER_HOST: ("DemoBank Open Banking & Partner API", ("Account information, payment initiation and "
                        "partner services for licensed third parties.")),
}


def schema_of(value: Any) -> dict[str, Any]:
    """A JSON Schema describing ``value`` (objects, arrays, scalars)."""
    if isinstance(value, dict):
        return {"type": "object", "properties": {k: schema_of(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"type": "array", "items": schema_of(value[0]) if value else {}}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    return {"type": "string"}


def template_schema(template: str, content_type: str) -> dict[str, Any]:
    """The schema of a body template, inferred from a sample rendering."""
    if content_type == "application/x-www-form-urlencoded":
        names = [pair.split("=", 1)[0] for pair in template.split("&")]
        return {"type": "object", "properties": {n: {"type": "string"} for n in names}}
    bare = _BARE.sub(lambda m: "1.5" if m.group(0)[1:-1] in DECIMALS else "1", template)
    sample = _ANY.sub("sample", bare)
    return schema_of(json.loads(sample))


def _parameters(ep: Endpoint) -> list[dict[str, Any]]:
    params = []
    for name in _ANY.findall(ep.path):
        schema: dict[str, Any] = {"type": "string"}
        if name in UUID_PARAMS:
            schema = {"type": "string", "format": "uuid"}
        elif name.endswith("_id"):
            schema = {"type": "integer", "format": "int64"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    for pair in (ep.query or "").split("&") if ep.query else []:
        name = pair.split("=", 1)[0]
        schema = {"type": "integer", "minimum": 1} if name in {"page", "limit"} else {"type": "string"}
        params.append({"name": name, "in": "query", "required": False, "schema": schema})
    return params


def _operation(ep: Endpoint) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": ep.summary, "tags": [ep.tag],
                          "operationId": re.sub(r"\W+", "_", f"{ep.method.lower()}{ep.path}").strip("_")}
    if ep.deprecated:
        op["deprecated"] = True
        op["description"] = f"Deprecated: use {ep.successor}."
    params = _parameters(ep)
    if params:
        op["parameters"] = params
    if ep.request_body:
        op["requestBody"] = {"required": True, "content": {
            ep.request_type: {"schema": template_schema(ep.request_body, ep.request_type)}}}
    ok: dict[str, Any] = {"description": "Success"}
    documented = ep.spec_response_body or ep.response_body
    if documented:
        ok["content"] = {ep.response_type: {"schema": template_schema(documented, ep.response_type)}}
    elif ep.ok_status != 204:
        ok["content"] = {ep.response_type: {"schema": {"type": "string", "format": "binary"}}}
    error = {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    op["responses"] = {str(ep.ok_status): ok, "400": error, "404": error, "429": error}
    if ep.auth == "none":
        op["security"] = []
    else:
        op["responses"]["401"] = error
        op["responses"]["403"] = error
    return op


def openapi(host: str) -> dict[str, Any]:
    """The OpenAPI 3.0.3 document of ``host`` (documented endpoints only)."""
    title, description = TITLES[host]
    paths: dict[str, dict[str, Any]] = {}
    security_name = "bearerAuth" if host == bank.RETAIL_HOST else "apiKeyAuth"
    for ep in ENDPOINTS:
        if ep.host == host and ep.documented:
            paths.setdefault(ep.path, {})[ep.method.lower()] = _operation(ep)
    schemes = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "2.4.0", "description": description},
        "servers": [{"url": f"https://{host}"}],
        "security": [{security_name: []}],
        "paths": paths,
        "components": {"securitySchemes": {security_name: schemes[security_name]}, "schemas": {"Error": ERROR_SCHEMA}},
    }


def write_spec(host: str, path: Path) -> Path:
    """Write the OpenAPI document of ``host`` as YAML and return ``path``."""
    text = yaml.safe_dump(openapi(host), sort_keys=False, allow_unicode=True, width=110)
    path.write_text(text, encoding="utf-8")
    return path

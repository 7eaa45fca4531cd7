"""Swagger 2.0 -> the OpenAPI 3 shape that :mod:`apisight.discovery.spec` reads.

Converts what discovery and drift need, on a document whose ``$ref``s are already
resolved (``#/definitions/...``, ``#/parameters/...`` and ``#/responses/...`` are plain
JSON pointers, so the generic resolver handles them):

- ``host`` + ``basePath`` (+ ``schemes``) -> ``servers``;
- ``in: body`` -> ``requestBody`` under each ``consumes`` type; ``in: formData`` -> a
  form ``requestBody`` (multipart when a ``file`` parameter is present);
- query/path/header parameters -> parameters with a ``schema``;
- response ``schema`` -> ``content`` under each ``produces`` type;
- ``securityDefinitions`` -> ``components.securitySchemes`` (basic -> http basic).

Anything else is copied as is (``x-*`` extensions, tags, ``deprecated``...).
"""

from __future__ import annotations

from typing import Any

from apisight.discovery.spec_document import mapping, sequence

METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
_SCHEMA_KEYS = ("type", "format", "items", "enum", "default", "minimum", "maximum", "pattern")
_FLOWS = {
    "implicit": "implicit",
    "password": "password",
    "application": "clientCredentials",
    "accessCode": "authorizationCode",
}
_DEFAULT_MEDIA = ["application/json"]


def to_openapi3(doc: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI-3-shaped copy of the resolved Swagger 2.0 document ``doc``."""
    consumes = _media(doc.get("consumes"), _DEFAULT_MEDIA)
    produces = _media(doc.get("produces"), _DEFAULT_MEDIA)
    out: dict[str, Any] = {k: v for k, v in doc.items() if k.startswith("x-")}
    out["openapi"] = "3.0.3"
    out["info"] = doc.get("info", {})
    out["servers"] = _servers(doc)
    if "security" in doc:
        out["security"] = doc["security"]
    if "tags" in doc:
        out["tags"] = doc["tags"]
    schemes = doc.get("securityDefinitions")
    out["components"] = {
        "securitySchemes": {
            name: _security_scheme(s) for name, s in mapping(schemes).items() if isinstance(s, dict)
        }
    }
    paths: dict[str, Any] = {}
    for template, item in mapping(doc.get("paths")).items():
        if not isinstance(item, dict):
            paths[template] = item  # reported by the reader, not here
            continue
        shared = sequence(item.get("parameters"))
        new_item: dict[str, Any] = {k: v for k, v in item.items() if k not in METHODS and k != "parameters"}
        for method in METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                new_item[method] = _operation(op, shared, consumes, produces)
            elif method in item:
                new_item[method] = op
        paths[template] = new_item
    out["paths"] = paths
    return out


def _media(value: Any, default: list[str]) -> list[str]:
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    return default


def _servers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    base = doc.get("basePath") if isinstance(doc.get("basePath"), str) else ""
    host = doc.get("host") if isinstance(doc.get("host"), str) else None
    if not host:
        return [{"url": base or "/"}]
    schemes = _media(doc.get("schemes"), ["https"])
    return [{"url": f"{scheme}://{host}{base}"} for scheme in dict.fromkeys(schemes)]


def _security_scheme(scheme: dict[str, Any]) -> dict[str, Any]:
    kind = scheme.get("type")
    extra = {k: v for k, v in scheme.items() if k == "description" or k.startswith("x-")}
    if kind == "basic":
        return {"type": "http", "scheme": "basic", **extra}
    if kind == "apiKey":
        return {"type": "apiKey", "in": scheme.get("in"), "name": scheme.get("name"), **extra}
    if kind == "oauth2":
        flow = _FLOWS.get(str(scheme.get("flow")), "implicit")
        body = {k: scheme[k] for k in ("authorizationUrl", "tokenUrl", "scopes") if k in scheme}
        return {"type": "oauth2", "flows": {flow: body}, **extra}
    return {**scheme}


def _operation(
    op: dict[str, Any], shared: list[Any], consumes: list[str], produces: list[str]
) -> dict[str, Any]:
    consumes = _media(op.get("consumes"), consumes)
    produces = _media(op.get("produces"), produces)
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for param in [*shared, *sequence(op.get("parameters"))]:
        if isinstance(param, dict):
            merged[(str(param.get("name")), str(param.get("in")))] = param
    out: dict[str, Any] = {
        k: v for k, v in op.items() if k not in {"parameters", "responses", "consumes", "produces"}
    }
    params: list[dict[str, Any]] = []
    form: list[dict[str, Any]] = []
    for param in merged.values():
        where = param.get("in")
        if where == "body":
            schema = mapping(param.get("schema"))
            out["requestBody"] = {
                "required": bool(param.get("required")),
                "content": {ct: {"schema": schema} for ct in consumes},
            }
        elif where == "formData":
            form.append(param)
        else:
            params.append(_parameter(param))
    if form:
        out["requestBody"] = _form_body(form, consumes)
    out["parameters"] = params
    responses: dict[str, Any] = {}
    for code, resp in mapping(op.get("responses")).items():
        if not isinstance(resp, dict):
            continue
        new = {k: v for k, v in resp.items() if k not in {"schema", "examples"}}
        if isinstance(resp.get("schema"), dict):
            new["content"] = {ct: {"schema": resp["schema"]} for ct in produces}
        responses[str(code)] = new
    out["responses"] = responses
    return out


def _parameter(param: dict[str, Any]) -> dict[str, Any]:
    schema = {k: param[k] for k in _SCHEMA_KEYS if k in param}
    out = {k: v for k, v in param.items() if k not in _SCHEMA_KEYS and k != "collectionFormat"}
    out["schema"] = schema
    return out


def _form_body(form: list[dict[str, Any]], consumes: list[str]) -> dict[str, Any]:
    has_file = any(p.get("type") == "file" for p in form)
    wanted = [ct for ct in consumes if ct.startswith(("multipart/", "application/x-www-form-urlencoded"))]
    if not wanted:
        wanted = ["multipart/form-data" if has_file else "application/x-www-form-urlencoded"]
    properties = {
        str(p.get("name")): (
            {"type": "string", "format": "binary"}
            if p.get("type") == "file"
            else {k: p[k] for k in _SCHEMA_KEYS if k in p}
        )
        for p in form
    }
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    required = [str(p.get("name")) for p in form if p.get("required")]
    if required:
        schema["required"] = required
    return {"required": bool(required), "content": {ct: {"schema": schema} for ct in wanted}}

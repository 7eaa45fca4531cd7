"""OpenAPI 3.0/3.1 and Swagger 2.0 documents, loaded into what discovery and drift need.

``load_spec(path)`` reads YAML or JSON, refuses only what is unusable (syntax errors,
no ``openapi``/``swagger`` key, unsupported versions, a ``$ref`` to nowhere) with a
:class:`~apisight.errors.SpecError` naming the file and the location, resolves local
``$ref``s, converts Swagger 2.0, and keeps validation findings as ``Spec.warnings``.

The data model is in :mod:`apisight.discovery.spec_model` (re-exported here); matching
requests against specs is in :mod:`apisight.discovery.spec_match`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apisight.discovery import swagger2
from apisight.discovery.spec_document import (
    check_refs,
    mapping,
    read_document,
    resolve_refs,
    sequence,
    validation_warnings,
)
from apisight.discovery.spec_model import (
    Schema,
    SecurityScheme,
    Spec,
    SpecOperation,
    SpecParameter,
    schema_field_names,
)
from apisight.discovery.spec_servers import Server, parse_servers
from apisight.errors import SpecError

__all__ = [
    "SecurityScheme",
    "Server",
    "Spec",
    "SpecOperation",
    "SpecParameter",
    "load_spec",
    "schema_field_names",
]

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_OPENAPI_VERSION = re.compile(r"^3\.(\d+)(?:\.\d+)?(?:-[\w.]+)?$")


def load_spec(path: Path | str, *, validate: bool = True) -> Spec:
    """Read, check, resolve and (by default) validate the OpenAPI or Swagger document at ``path``."""
    path = Path(path)
    raw = read_document(path)
    spec_version, family = _version(raw, path)
    warnings: list[str] = []
    if family == "3.1" and not spec_version.startswith("3.1"):
        warnings.append(f"OpenAPI {spec_version} is read and validated as 3.1")
    external = check_refs(raw, path)
    if external:
        shown = ", ".join(external[:3]) + (" ..." if len(external) > 3 else "")
        warnings.append(f"{len(external)} external $ref(s) not resolved ({shown}); validation skipped")
    elif validate:
        warnings.extend(validation_warnings(raw, family))
    doc, cycles = resolve_refs(raw, path)
    if cycles:
        warnings.append(f"recursive schemas kept as $ref: {', '.join(sorted(cycles))}")
    if family == "2.0":
        doc = swagger2.to_openapi3(doc)
    return _build(doc, path, spec_version, warnings)


def _version(doc: dict[str, Any], path: Path) -> tuple[str, str]:
    """The document's version text and the family it is read as: "2.0", "3.0" or "3.1"."""
    if "openapi" in doc:
        text = str(doc["openapi"]).strip()
        m = _OPENAPI_VERSION.match(text)
        if not m:
            raise SpecError(
                f"{path}: unsupported OpenAPI version {text!r} (supported: 3.0, 3.1; Swagger 2.0)"
            )
        return text, "3.0" if m.group(1) == "0" else "3.1"
    if "swagger" in doc:
        text = str(doc["swagger"]).strip()
        if text not in {"2.0", "2"}:
            raise SpecError(
                f"{path}: unsupported Swagger version {text!r} (supported: 2.0; OpenAPI 3.0, 3.1)"
            )
        return text, "2.0"
    if "swaggerVersion" in doc:
        raise SpecError(
            f"{path}: Swagger {doc['swaggerVersion']} is not supported (convert it to 2.0 or 3.x)"
        )
    raise SpecError(f"{path}: not an OpenAPI document: no 'openapi' or 'swagger' key at the top level")


def _build(doc: dict[str, Any], path: Path, spec_version: str, warnings: list[str]) -> Spec:
    info = mapping(doc.get("info"))
    servers = parse_servers(doc.get("servers"), "#/servers", warnings)
    schemes = _security_schemes(doc, warnings)
    paths = doc.get("paths", {})
    if paths is None:
        paths = {}
    if not isinstance(paths, dict):
        raise SpecError(f"{path}: 'paths' must be a mapping, got a {type(paths).__name__}")
    if not paths:
        warnings.append("the document has no paths")
    context = _Context(
        servers=servers,
        security=doc.get("security"),
        owner=_owner(info.get("x-owner")) or _owner(doc.get("x-owner")),
        scheme_names=set(schemes),
        warnings=warnings,
    )
    operations: list[SpecOperation] = []
    for template, item in paths.items():
        operations.extend(_path_operations(str(template), item, context))
    seen_ids: set[str] = set()
    for op in operations:
        if op.operation_id is not None:
            if op.operation_id in seen_ids:
                warnings.append(f"operationId {op.operation_id!r} is used more than once")
            seen_ids.add(op.operation_id)
    return Spec(
        path=path,
        title=_text(info.get("title")),
        version=_text(info.get("version")),
        spec_version=spec_version,
        servers=servers,
        security_schemes=schemes,
        operations=tuple(operations),
        warnings=tuple(dict.fromkeys(warnings)),
    )


@dataclass
class _Context:
    servers: tuple[Server, ...]
    security: Any
    owner: str | None
    scheme_names: set[str]
    warnings: list[str]


def _path_operations(template: str, item: Any, ctx: _Context) -> list[SpecOperation]:
    where = f"#/paths/{template.replace('~', '~0').replace('/', '~1')}"
    if not isinstance(item, dict):
        ctx.warnings.append(f"{where}: path item is not a mapping; skipped")
        return []
    if not template.startswith("/"):
        ctx.warnings.append(f"{where}: path does not start with '/'")
    servers = (
        parse_servers(item["servers"], f"{where}/servers", ctx.warnings)
        if item.get("servers")
        else ctx.servers
    )
    shared = _parameters(item.get("parameters"), {})
    owner = _owner(item.get("x-owner")) or ctx.owner
    out = []
    for method in METHODS:
        op = item.get(method)
        if op is None:
            continue
        if not isinstance(op, dict):
            ctx.warnings.append(f"{where}/{method}: operation is not a mapping; skipped")
            continue
        op_servers = (
            parse_servers(op["servers"], f"{where}/{method}/servers", ctx.warnings)
            if op.get("servers")
            else servers
        )
        requirements = _requirements(op.get("security", ctx.security))
        for name in {n for req in requirements or () for n in req} - ctx.scheme_names:
            ctx.warnings.append(f"{where}/{method}: security names undefined scheme {name!r}")
        tags = sequence(op.get("tags"))
        out.append(
            SpecOperation(
                method=method.upper(),
                template=template,
                full_templates=tuple(dict.fromkeys(_join(s.base_path, template) for s in op_servers)),
                hosts=()
                if any(s.host is None for s in op_servers)
                else tuple(dict.fromkeys(s.host for s in op_servers if s.host is not None)),
                servers=op_servers,
                operation_id=_text(op.get("operationId")),
                summary=_text(op.get("summary")),
                tags=tuple(str(t) for t in tags),
                deprecated=op.get("deprecated") is True,
                owner=_owner(op.get("x-owner")) or owner,
                security=None
                if requirements is None
                else tuple(dict.fromkeys(n for r in requirements for n in r)),
                security_requirements=requirements,
                parameters=tuple(_parameters(op.get("parameters"), shared).values()),
                request_body=_content(op.get("requestBody")),
                responses={
                    str(code): _content(resp)
                    for code, resp in mapping(op.get("responses")).items()
                    if isinstance(resp, dict)
                },
            )
        )
    return out


def _join(base_path: str, template: str) -> str:
    return base_path + (template if template.startswith("/") else "/" + template)


def _parameters(
    raw: Any, inherited: dict[tuple[str, str], SpecParameter]
) -> dict[tuple[str, str], SpecParameter]:
    """Parameters by (name, in); the operation's override the path item's."""
    out = dict(inherited)
    for param in raw if isinstance(raw, list) else []:
        if not isinstance(param, dict) or not isinstance(param.get("name"), str):
            continue
        location = str(param.get("in"))
        schema = param.get("schema")
        if not isinstance(schema, dict) and isinstance(param.get("content"), dict):
            schema = next((m.get("schema") for m in param["content"].values() if isinstance(m, dict)), None)
        schema = schema if isinstance(schema, dict) else {}
        out[(param["name"], location)] = SpecParameter(
            name=param["name"],
            location=location,
            required=param.get("required") is True or location == "path",
            type=_schema_type(schema),
            format=_text(schema.get("format")),
            deprecated=param.get("deprecated") is True,
        )
    return out


def _schema_type(schema: Schema) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):  # 3.1: ["string", "null"]
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


def _content(holder: Any) -> dict[str, Schema]:
    """``{media type: schema}`` of a requestBody or response object (``{}`` when none)."""
    content = holder.get("content") if isinstance(holder, dict) else None
    if not isinstance(content, dict):
        return {}
    return {str(ct): mapping(media.get("schema")) for ct, media in content.items() if isinstance(media, dict)}


def _requirements(raw: Any) -> tuple[tuple[str, ...], ...] | None:
    if not isinstance(raw, list):
        return None
    return tuple(tuple(str(n) for n in req) for req in raw if isinstance(req, dict))


def _security_schemes(doc: dict[str, Any], warnings: list[str]) -> dict[str, SecurityScheme]:
    out: dict[str, SecurityScheme] = {}
    for name, s in mapping(mapping(doc.get("components")).get("securitySchemes")).items():
        if not isinstance(s, dict) or not isinstance(s.get("type"), str):
            warnings.append(f"#/components/securitySchemes/{name}: no type; skipped")
            continue
        out[str(name)] = SecurityScheme(
            name=str(name),
            type=s["type"],
            scheme=s["scheme"].lower() if isinstance(s.get("scheme"), str) else None,
            location=_text(s.get("in")),
            param_name=_text(s.get("name")),
            bearer_format=_text(s.get("bearerFormat")),
        )
    return out


def _owner(value: Any) -> str | None:
    """``x-owner`` as text: a string, or a mapping's ``team``/``name``/``email``."""
    if isinstance(value, dict):
        value = next((value[k] for k in ("team", "name", "email") if isinstance(value.get(k), str)), None)
    return (value.strip() or None) if isinstance(value, str) else None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)

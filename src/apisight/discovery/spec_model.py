"""The data a loaded spec is made of: operations, parameters, security schemes.

Frozen dataclasses; the methods on :class:`SpecOperation` are what drift compares
observed traffic against. Built by :func:`apisight.discovery.spec.load_spec`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apisight.discovery.spec_servers import Server

#: A JSON schema, as a resolved dict (a ``{"$ref": ...}`` remains only where a cycle was cut).
Schema = dict[str, Any]


@dataclass(frozen=True)
class SecurityScheme:
    """One entry of ``components.securitySchemes`` (or Swagger 2.0 ``securityDefinitions``)."""

    name: str
    type: str  # apiKey | http | oauth2 | openIdConnect | mutualTLS (as the spec says)
    scheme: str | None = None  # http: bearer | basic | digest ... (lower case)
    location: str | None = None  # apiKey: header | query | cookie
    param_name: str | None = None  # apiKey: the header, query or cookie name
    bearer_format: str | None = None


@dataclass(frozen=True)
class SpecParameter:
    """A documented parameter: ``location`` is OpenAPI's ``in`` (path/query/header/cookie)."""

    name: str
    location: str
    required: bool
    type: str | None = None  # first non-null type of the schema; None when untyped
    format: str | None = None
    deprecated: bool = False


@dataclass(frozen=True)
class SpecOperation:
    """One (method, path template) of a spec, with everything drift compares against.

    ``security`` is the union of scheme names in the effective requirement (operation's
    ``security`` if present, else the document's): ``()`` means explicitly no auth,
    ``None`` that neither level says anything. ``security_requirements`` keeps the
    OR-of-ANDs structure; an empty requirement ``()`` in it makes auth optional.
    """

    method: str
    template: str
    full_templates: tuple[str, ...]
    hosts: tuple[str, ...]  # empty: any host
    servers: tuple[Server, ...]
    operation_id: str | None = None
    summary: str | None = None
    tags: tuple[str, ...] = ()
    deprecated: bool = False
    owner: str | None = None
    security: tuple[str, ...] | None = None
    security_requirements: tuple[tuple[str, ...], ...] | None = None
    parameters: tuple[SpecParameter, ...] = ()
    request_body: dict[str, Schema] = field(default_factory=dict)  # content type -> schema
    responses: dict[str, dict[str, Schema]] = field(default_factory=dict)  # status -> type -> schema

    # --- what drift compares --------------------------------------------------------

    def parameter_names(self, location: str) -> frozenset[str]:
        """Names of the documented parameters ``in`` ``location`` (query, header, path...)."""
        return frozenset(p.name for p in self.parameters if p.location == location)

    @property
    def query_parameter_names(self) -> frozenset[str]:
        """Documented query parameter names."""
        return self.parameter_names("query")

    @property
    def status_codes(self) -> frozenset[str]:
        """Documented response keys as written: ``"200"``, ``"4XX"``, ``"default"``."""
        return frozenset(self.responses)

    def documents_status(self, status: int | str) -> bool:
        """Whether ``status`` is covered by an exact code, a ``2XX`` range or ``default``."""
        code = str(status)
        keys = {k.upper() for k in self.responses}
        return code in keys or f"{code[:1]}XX" in keys or "DEFAULT" in keys

    @property
    def request_content_types(self) -> frozenset[str]:
        """Documented request body media types."""
        return frozenset(self.request_body)

    @property
    def response_content_types(self) -> frozenset[str]:
        """Documented response media types over all status codes."""
        return frozenset(ct for content in self.responses.values() for ct in content)

    def response_field_names(self, status: str | None = None) -> frozenset[str]:
        """Top-level field names of the documented response schemas (one status or all)."""
        chosen = [self.responses.get(status, {})] if status is not None else self.responses.values()
        names: set[str] = set()
        for content in chosen:
            for schema in content.values():
                names |= schema_field_names(schema)
        return frozenset(names)

    def documents_content_type(self, content_type: str, *, response: bool = True) -> bool:
        """Whether an observed media type is documented (parameters ignored, ``*/*`` and
        ``application/*`` honoured). Operations that document no body accept nothing."""
        documented = self.response_content_types if response else self.request_content_types
        wanted = _media_type(content_type)
        for ct in documented:
            doc = _media_type(ct)
            if doc in {wanted, "*/*"} or (doc.endswith("/*") and wanted.startswith(doc[:-1])):
                return True
        return False

    @property
    def request_field_names(self) -> frozenset[str]:
        """Top-level field names of the documented request body schemas."""
        return frozenset(n for s in self.request_body.values() for n in schema_field_names(s))

    @property
    def requires_auth(self) -> bool | None:
        """True when every alternative requirement names a scheme; None when unspecified."""
        if self.security_requirements is None:
            return None
        return bool(self.security_requirements) and all(self.security_requirements)


@dataclass(frozen=True)
class Spec:
    """A loaded spec. ``servers`` are (host or None, base path); host None = any host."""

    path: Path
    title: str | None
    version: str | None
    spec_version: str  # the document's own "openapi"/"swagger" value, e.g. "3.0.1", "2.0"
    servers: tuple[Server, ...]
    security_schemes: dict[str, SecurityScheme]
    operations: tuple[SpecOperation, ...]
    warnings: tuple[str, ...] = ()

    def operation(self, method: str, template: str) -> SpecOperation | None:
        """The operation for ``method`` and a template as written in the spec, if any."""
        method = method.upper()
        return next((o for o in self.operations if o.method == method and o.template == template), None)


def schema_field_names(schema: Any) -> frozenset[str]:
    """Top-level property names of a JSON schema, through ``allOf``/``anyOf``/``oneOf``.

    A top-level array contributes the fields of its items, since that is where a list
    endpoint's fields are. A ``$ref`` left to break a cycle contributes nothing.
    """
    names: set[str] = set()
    _collect_fields(schema, names, set(), arrays=True)
    return frozenset(names)


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _collect_fields(schema: Any, names: set[str], seen: set[int], *, arrays: bool) -> None:
    if not isinstance(schema, dict) or id(schema) in seen:
        return
    seen.add(id(schema))
    props = schema.get("properties")
    if isinstance(props, dict):
        names.update(props)
    for key in ("allOf", "anyOf", "oneOf"):
        parts = schema.get(key)
        if isinstance(parts, list):
            for part in parts:
                _collect_fields(part, names, seen, arrays=arrays)
    if arrays and isinstance(schema.get("items"), dict) and not isinstance(props, dict):
        _collect_fields(schema["items"], names, seen, arrays=False)

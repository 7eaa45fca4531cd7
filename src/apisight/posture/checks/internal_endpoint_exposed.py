"""Internal, admin and debug endpoints reached from outside networks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from apisight.posture.findings import (
    BaseCheck,
    CheckOptions,
    Finding,
    NonEmpty,
    Regex,
    Severity,
    findings_from_frame,
)
from apisight.store import Catalog
from apisight.store import evidence_exposure as queries

#: (kind, template regex, request body/query regex or None, OWASP category, severity); first match wins.
RULES: list[tuple[str, str, str | None, str, Severity]] = [
    ("graphql_introspection", r"(?i)/graphql/?$", r"__schema|__type\b", "API8:2023 Security Misconfiguration",
     "medium"),
    ("admin", r"(?i)(^|/)(admin|administrator|_admin|manage|management)(/|$)",
     None, "API5:2023 Broken Function Level Authorization", "high"),
    # before debug: Spring's /actuator/env and /actuator/heapdump are actuator endpoints
    ("actuator", r"(?i)(^|/)actuator(/|$)", None, "API8:2023 Security Misconfiguration", "high"),
    ("debug", r"(?i)(^|/)(debug|_debug|__debug__|trace|heapdump|env|phpinfo(\.php)?|server-status|pprof)(/|$)",
     None, "API8:2023 Security Misconfiguration", "high"),
    ("metrics", r"(?i)(^|/)(metrics|prometheus)(/|$)", None, "API8:2023 Security Misconfiguration", "medium"),
    ("internal", r"(?i)(^|/)(internal|_internal|private)(/|$)", None, "API9:2023 Improper Inventory Management",
     "high"),
]


class ExposureRule(BaseModel):
    """Endpoints whose template matches ``template_pattern`` (and, if set, whose request body or
    query matches ``body_pattern``) are ``kind`` endpoints, rated ``owasp`` and ``severity``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(min_length=1)
    template_pattern: Regex
    body_pattern: Regex | None = None
    owasp: str = Field(pattern=r"^API([1-9]|10):2023\b", description="e.g. 'API8:2023 Security Misconfiguration'")
    severity: Severity


class InternalEndpointExposedOptions(CheckOptions):
    rules: Annotated[tuple[ExposureRule, ...], NonEmpty] = Field(
        default=tuple(ExposureRule(kind=k, template_pattern=t, body_pattern=b, owasp=o, severity=s)
                      for k, t, b, o, s in RULES),
        description="first match wins; replaces the built-in rules")


class InternalEndpointExposedCheck(BaseCheck[InternalEndpointExposedOptions]):
    """An internal, admin, debug, actuator or metrics endpoint, or GraphQL introspection, answered
    2xx to a client outside ``network.internal_networks``. Rules are data (``rules``, by
    default :data:`RULES`)."""

    name = "internal_endpoint_exposed"
    owasp = "API9:2023 Improper Inventory Management"
    severity = "high"
    remediation = (
        "Do not route this endpoint from the internet: bind it to the internal network or block the prefix at "
        "the gateway, and require an admin role on it anyway; disable debug/actuator endpoints and GraphQL "
        "introspection in production."
    )
    settings_model = InternalEndpointExposedOptions

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        rules = pl.DataFrame(
            [r.model_dump() for r in self.options.rules],
            schema={c: pl.String for c in ("kind", "template_pattern", "body_pattern", "owasp", "severity")},
        )
        return findings_from_frame(self, queries.exposed_endpoints(catalog.db, since, rules))

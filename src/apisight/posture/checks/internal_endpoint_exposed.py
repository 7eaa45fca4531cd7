"""Internal, admin and debug endpoints reached from outside networks."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from apisight.posture.findings import Finding, findings_from_frame
from apisight.store import Catalog
from apisight.store import findings as queries

#: (kind, template regex, request body/query regex or None, OWASP category, severity); first match wins.
RULES: list[tuple[str, str, str | None, str, str]] = [
    ("graphql_introspection", r"(?i)/graphql/?$", r"__schema|__type\b", "API8:2023 Security Misconfiguration",
     "medium"),
    ("admin", r"(?i)(^|/)(admin|administrator|_admin|manage|management)(/|$)",
     None, "API5:2023 Broken Function Level Authorization", "high"),
    ("debug", r"(?i)(^|/)(debug|_debug|__debug__|trace|heapdump|env|phpinfo(\.php)?|server-status|pprof)(/|$)",
     None, "API8:2023 Security Misconfiguration", "high"),
    ("actuator", r"(?i)(^|/)actuator(/|$)", None, "API8:2023 Security Misconfiguration", "high"),
    ("metrics", r"(?i)(^|/)(metrics|prometheus)(/|$)", None, "API8:2023 Security Misconfiguration", "medium"),
    ("internal", r"(?i)(^|/)(internal|_internal|private)(/|$)", None, "API9:2023 Improper Inventory Management",
     "high"),
]


class InternalEndpointExposedCheck:
    """An internal, admin, debug, actuator or metrics endpoint, or GraphQL introspection, answered
    2xx to a client outside ``network.internal_networks``. Rules are data (:data:`RULES`)."""

    name = "internal_endpoint_exposed"
    owasp = "API9:2023 Improper Inventory Management"
    severity = "high"
    remediation = (
        "Do not route this endpoint from the internet: bind it to the internal network or block the prefix at "
        "the gateway, and require an admin role on it anyway; disable debug/actuator endpoints and GraphQL "
        "introspection in production."
    )
    rules = RULES

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        rules = pl.DataFrame(
            self.rules, schema=["kind", "template_pattern", "body_pattern", "owasp", "severity"], orient="row"
        )
        return findings_from_frame(self, queries.exposed_endpoints(catalog.db, since, rules))

"""Documented endpoints that require authentication answering requests without credentials."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from apisight.posture.findings import BaseCheck, CheckOptions, Finding, SensitiveTypes, findings_from_frame
from apisight.store import Catalog
from apisight.store import evidence_auth as queries


class UnauthenticatedAccessOptions(CheckOptions):
    min_successes: int = Field(default=1, ge=1,
                               description="2xx answers to requests without credentials that make a finding")
    ignored_types: SensitiveTypes = Field(default=("ip_address", "jwt", "bearer_token"),
                                          description="sensitive types that do not raise the finding to critical")


class UnauthenticatedAccessCheck(BaseCheck[UnauthenticatedAccessOptions]):
    """The spec requires authentication (``security``) for the operation, and in the window it
    answered requests that carried no credential at all (``auth_scheme = 'none'``) with 2xx:
    the gateway or service does not enforce what the spec promises. ``critical`` when those
    answers carried clear sensitive data. Requests whose source cannot show credentials
    (``unknown``: an access log without the Authorization header) are never judged, only
    counted in ``unknown_auth_events``; endpoints the spec documents as public never fire."""

    name = "unauthenticated_access"
    owasp = "API2:2023 Broken Authentication"
    severity = "high"
    remediation = (
        "Enforce the authentication the spec declares: reject requests without a valid credential with 401 "
        "at the gateway and in the service (deny by default, then open public routes explicitly), and check "
        "why this route was left open (a missing auth plugin, a catch-all route, a debug flag). If the "
        "operation is meant to be public, document it with `security: []`."
    )
    settings_model = UnauthenticatedAccessOptions

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        o = self.options
        frame = queries.unauthenticated_access(catalog.db, since, list(o.ignored_types), o.min_successes)
        return findings_from_frame(self, frame)

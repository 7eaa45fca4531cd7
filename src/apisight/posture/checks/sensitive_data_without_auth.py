"""Sensitive data served without authentication."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from apisight.posture.findings import BaseCheck, CheckOptions, Finding, SensitiveTypes, findings_from_frame
from apisight.store import Catalog
from apisight.store import evidence_exposure as queries


class SensitiveDataWithoutAuthOptions(CheckOptions):
    #: Addresses, and the tokens that login and token endpoints issue to callers who are not
    #: yet authenticated.
    ignored_types: SensitiveTypes = Field(default=("ip_address", "jwt", "bearer_token"),
                                          description="types that are not sensitive on their own in a public response")


class SensitiveDataWithoutAuthCheck(BaseCheck[SensitiveDataWithoutAuthOptions]):
    """Successful responses carried clear sensitive values (from the sensitive-data stage) to
    requests with no credential at all (``auth_scheme = 'none'``; ``unknown``, when the log
    cannot show credentials, does not count). Values masked at the source do not count."""

    name = "sensitive_data_without_auth"
    owasp = "API2:2023 Broken Authentication"
    severity = "high"
    remediation = (
        "Require authentication on this endpoint (reject requests without a valid credential with 401) "
        "and check that the caller may see the object; if the data must be public, remove or mask the "
        "sensitive fields from the response."
    )
    settings_model = SensitiveDataWithoutAuthOptions

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        frame = queries.sensitive_without_auth(catalog.db, since, list(self.options.ignored_types))
        return findings_from_frame(self, frame)

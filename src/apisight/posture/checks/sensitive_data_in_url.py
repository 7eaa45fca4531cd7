"""Personal or financial data in URLs."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from apisight.posture.checks.credentials_in_url import CREDENTIAL_TYPES
from apisight.posture.findings import BaseCheck, CheckOptions, Finding, SensitiveTypes, findings_from_frame
from apisight.store import Catalog
from apisight.store import evidence_exposure as queries


class SensitiveDataInUrlOptions(CheckOptions):
    excluded_types: SensitiveTypes = Field(
        default=(*CREDENTIAL_TYPES, "ip_address"),
        description="types not reported here: credentials (credentials_in_url's) and addresses")


class SensitiveDataInUrlCheck(BaseCheck[SensitiveDataInUrlOptions]):
    """Clear sensitive values (card numbers, SSNs, emails, …) in the query string or path, which
    access logs, proxies, analytics and ``Referer`` headers keep. Credentials are
    ``credentials_in_url``'s; values masked at the source do not count."""

    name = "sensitive_data_in_url"
    owasp = "API8:2023 Security Misconfiguration"
    severity = "medium"
    remediation = (
        "Move the value out of the URL: send it in the request body (POST a search instead of GET with "
        "?email=…), or refer to the record by an opaque id; purge it from access logs already written."
    )
    settings_model = SensitiveDataInUrlOptions

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        frame = queries.sensitive_in_url(catalog.db, since, list(self.options.excluded_types))
        return findings_from_frame(self, frame)

"""Credentials or tokens in URLs and query strings."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from apisight.posture.findings import BaseCheck, CheckOptions, Finding, SensitiveTypes, findings_from_frame
from apisight.store import Catalog
from apisight.store import findings as queries

#: Sensitive-data types that are credentials.
CREDENTIAL_TYPES: tuple[str, ...] = (
    "jwt", "bearer_token", "api_secret", "password", "aws_access_key", "stripe_key", "github_token",
    "slack_token", "google_api_key", "private_key", "url_credentials",
)


class CredentialsInUrlOptions(CheckOptions):
    credential_types: SensitiveTypes = Field(default=CREDENTIAL_TYPES,
                                             description="sensitive-data types that are credentials")
    #: The OAuth authorization code on the redirect, and the signature parts of pre-signed URLs.
    exempt_params: tuple[str, ...] = Field(
        default=("code", "state", "signature", "sig", "x-amz-signature", "x-amz-security-token", "x-amz-credential"),
        description="query parameters that carry secrets in URLs by design",
    )

    @field_validator("exempt_params")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.lower() for v in value)


class CredentialsInUrlCheck(BaseCheck[CredentialsInUrlOptions]):
    """The URL carried a secret: a credential-type value found in the query or path, or a query
    parameter that normalisation masked as a secret (``auth.api_key_query_params`` and
    ``auth.secret_query_params``). URLs end up in access logs, proxies, browser history and
    ``Referer`` headers."""

    name = "credentials_in_url"
    owasp = "API2:2023 Broken Authentication"
    severity = "high"
    remediation = (
        "Accept credentials only in headers (Authorization or an API-key header) and reject them in the "
        "query string; rotate the keys and tokens already sent in URLs, since access logs and proxies kept them."
    )
    settings_model = CredentialsInUrlOptions

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        o = self.options
        frame = queries.credentials_in_url(catalog.db, since, list(o.credential_types), list(o.exempt_params))
        return findings_from_frame(self, frame)

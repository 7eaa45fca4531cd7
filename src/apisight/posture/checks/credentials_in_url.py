"""Credentials or tokens in URLs and query strings."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from apisight.config import AuthSettings
from apisight.posture.findings import BaseCheck, CheckOptions, Finding, SensitiveTypes, findings_from_frame
from apisight.store import Catalog
from apisight.store import evidence_auth as queries

#: Sensitive-data types that are credentials.
CREDENTIAL_TYPES: tuple[str, ...] = (
    "jwt", "bearer_token", "api_secret", "password", "aws_access_key", "stripe_key", "github_token",
    "slack_token", "google_api_key", "private_key", "url_credentials",
)
#: Query parameters that are credentials by name: the default ``auth.api_key_query_params`` and
#: ``auth.secret_query_params``, and other common ones.
CREDENTIAL_PARAMS: tuple[str, ...] = tuple(dict.fromkeys([
    *AuthSettings().secret_params(), "auth", "auth_token", "access_key", "client_secret", "session_id",
]))
#: A parameter name that says its value is a credential, wherever the word ends it (``accessToken``,
#: ``x-api-key``, ``db_password``). Normalisation masks more (by ``redact.SECRET_NAME``): card and
#: account numbers, PAN, SSN, CVV and one-time codes are sensitive data, not credentials.
CREDENTIAL_NAME = (r"(?i)[\w.-]*(?:pass(?:word|wd|phrase)|pwd|secret|token|api[-_]?key|private[-_]?key|"
                   r"access[-_]?key|sess(?:ion)?[-_]?id|authorization|credentials?)")


class CredentialsInUrlOptions(CheckOptions):
    credential_types: SensitiveTypes = Field(default=CREDENTIAL_TYPES,
                                             description="sensitive-data types that are credentials")
    #: The OAuth authorization code on the redirect, and the signature parts of pre-signed URLs.
    exempt_params: tuple[str, ...] = Field(
        default=("code", "state", "signature", "sig", "x-amz-signature", "x-amz-security-token", "x-amz-credential"),
        description="query parameters that carry secrets in URLs by design",
    )
    #: The check sees posture settings only: names added to ``auth.*_query_params`` belong here too.
    credential_params: tuple[str, ...] = Field(
        default=CREDENTIAL_PARAMS,
        description=("masked query parameters that are credentials, besides names matching CREDENTIAL_NAME "
                     "(add the names you set in auth.api_key_query_params and auth.secret_query_params)"))

    @field_validator("exempt_params", "credential_params")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.lower() for v in value)


class CredentialsInUrlCheck(BaseCheck[CredentialsInUrlOptions]):
    """The URL carried a secret: a credential-type value found in the query or path, or a query
    parameter that normalisation masked whose name is a credential's (``credential_params``, or
    matching :data:`CREDENTIAL_NAME`). Normalisation masks every secret-looking name; a masked card
    number or SSN is sensitive data in the URL (``sensitive_data_in_url``), not a credential.
    URLs end up in access logs, proxies, browser history and ``Referer`` headers."""

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
        frame = queries.credentials_in_url(catalog.db, since, list(o.credential_types), list(o.exempt_params),
                                           list(o.credential_params), CREDENTIAL_NAME)
        return findings_from_frame(self, frame)

"""One bearer token used from many client addresses: leaked, shared or built into an app."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from apisight.posture.findings import BaseCheck, CheckOptions, Finding, NonEmpty, findings_from_frame
from apisight.store import Catalog
from apisight.store import evidence_auth as queries


class TokenSharedByManyClientsOptions(CheckOptions):
    min_client_ips: int = Field(default=10, ge=2, description="distinct outside addresses of one credential")
    public_client_ips: int = Field(default=100, ge=2, description="from this many it is high: as good as public")
    #: API keys of server fleets are left out by default.
    schemes: Annotated[tuple[Literal["bearer", "basic", "api_key", "other"], ...], NonEmpty] = Field(
        default=("bearer",), description="auth schemes whose credential is one caller's")

    @model_validator(mode="after")
    def _ordered(self) -> TokenSharedByManyClientsOptions:
        if self.public_client_ips < self.min_client_ips:
            raise ValueError(f"public_client_ips ({self.public_client_ips}) must be at least "
                             f"min_client_ips ({self.min_client_ips})")
        return self


class TokenSharedByManyClientsCheck(BaseCheck[TokenSharedByManyClientsOptions]):
    """The same credential (by keyed fingerprint) came from ``min_client_ips`` or more distinct
    client IPs outside ``network.internal_networks`` in the window; high from
    ``public_client_ips``, where the token is as good as public. One finding per host (method
    and path ``*``): the weakness is the credential's, and evidence lists the endpoints it
    reached. Fingerprints are shown as 12-character prefixes, as API key ids are."""

    name = "token_shared_by_many_clients"
    owasp = "API2:2023 Broken Authentication"
    severity = "medium"
    remediation = (
        "Revoke the shared tokens and find where they come from: a token built into a mobile or web app, a "
        "service account used by many machines, or a leak. Issue one token per user or device (OAuth "
        "authorization code with PKCE for apps), keep access tokens short-lived, and bind them to the client "
        "where the stack allows (DPoP or mTLS-bound tokens, RFC 9449 / RFC 8705)."
    )
    settings_model = TokenSharedByManyClientsOptions

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        o = self.options
        frame = queries.shared_tokens(catalog.db, since, list(o.schemes), o.min_client_ips, o.public_client_ips)
        return findings_from_frame(self, frame)

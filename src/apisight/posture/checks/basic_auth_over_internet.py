"""HTTP Basic credentials sent by clients outside the internal networks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from apisight.posture.findings import BaseCheck, CheckOptions, Finding, NonEmpty, findings_from_frame
from apisight.store import Catalog
from apisight.store import evidence_auth as queries

Zone = Literal["external", "internal", "unknown"]


class BasicAuthOverInternetOptions(CheckOptions):
    client_zones: Annotated[tuple[Zone, ...], NonEmpty] = Field(
        default=("external",),
        description="client zones whose Basic credentials count (network.internal_networks; unknown: no address)")


class BasicAuthOverInternetCheck(BaseCheck[BasicAuthOverInternetOptions]):
    """Requests from external clients carried ``Authorization: Basic`` (a reusable password,
    base64-encoded, sent with every request). ``high`` when any came over plain ``http``.
    Basic credentials used only inside the internal networks do not count."""

    name = "basic_auth_over_internet"
    owasp = "API2:2023 Broken Authentication"
    severity = "medium"
    remediation = (
        "Replace HTTP Basic for internet clients with short-lived tokens (OAuth 2.0 client credentials or "
        "signed, scoped API keys) that can be rotated and revoked without changing a password; until then "
        "accept Basic over HTTPS only, rate-limit and lock out failed attempts, and rotate passwords seen "
        "over http."
    )
    settings_model = BasicAuthOverInternetOptions

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        frame = queries.basic_auth_external(catalog.db, since, list(self.options.client_zones))
        return findings_from_frame(self, frame)

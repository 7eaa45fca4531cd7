"""Endpoints in live traffic that no spec documents (shadow APIs)."""

from __future__ import annotations

from datetime import datetime

import polars as pl
from pydantic import Field

from apisight.posture.findings import (
    SEVERITIES,
    BaseCheck,
    Check,
    CheckOptions,
    Finding,
    SensitiveTypes,
    findings_from_frame,
)
from apisight.store import Catalog
from apisight.store import evidence_inventory as queries


class InventoryCheckOptions(CheckOptions):
    """Settings of the inventory checks (shadow_endpoint, zombie_endpoint)."""

    ignored_types: SensitiveTypes = Field(default=("ip_address",),
                                          description="sensitive types that do not raise the severity")


#: Answers that say no route is there: a method/path that got nothing else in the window was
#: probed, not served (finding those probes is the BFLA detector's work).
NOT_ROUTED = (404, 405, 501)


class ShadowEndpointCheck(BaseCheck[InventoryCheckOptions]):
    """The inventory marks the endpoint ``shadow`` (called, in no spec, or a documented path called
    with an undocumented method) on a host that a spec covers, and it answered at least once with
    something other than 404/405/501 (:data:`NOT_ROUTED`) in the window: a route exists. Without
    any spec every endpoint is shadow, so nothing fires. Low; one level up if it served clear
    sensitive data in the window, one more if it answered 2xx to requests with no credential."""

    name = "shadow_endpoint"
    owasp = "API9:2023 Improper Inventory Management"
    severity = "low"
    remediation = (
        "Find the owner and decide: document it in the OpenAPI spec (with its security requirement) so it "
        "gets reviewed and tested, or remove the route and block it at the gateway. Until then, put it behind "
        "the same authentication as the documented API."
    )
    settings_model = InventoryCheckOptions

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        return inventory_findings(self, catalog, since, "shadow", self.options.ignored_types, NOT_ROUTED)


def inventory_findings(
    check: Check, catalog: Catalog, since: datetime, spec_status: str, ignored_types: tuple[str, ...],
    absent_statuses: tuple[int, ...],
) -> list[Finding]:
    """Findings for the endpoints of one ``spec_status`` that answered something other than
    ``absent_statuses`` in the window, the check's severity raised one level for sensitive data
    served and one for unauthenticated successes."""
    frame = queries.inventory_endpoints(catalog.db, since, spec_status, list(ignored_types), list(absent_statuses))
    base = SEVERITIES.index(check.severity)
    raised = (
        pl.lit(base)
        - (pl.col("sensitive_events") > 0).cast(pl.Int64)
        - (pl.col("unauthenticated_successes") > 0).cast(pl.Int64)
    ).clip(0, len(SEVERITIES) - 1)
    frame = frame.with_columns(raised.replace_strict(dict(enumerate(SEVERITIES)), return_dtype=pl.String)
                               .alias("severity"))
    return findings_from_frame(check, frame)

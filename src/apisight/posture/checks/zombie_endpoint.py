"""Deprecated or superseded endpoints that are still called (zombie APIs)."""

from __future__ import annotations

from datetime import datetime

from apisight.posture.checks.shadow_endpoint import InventoryCheckOptions, inventory_findings
from apisight.posture.findings import BaseCheck, Finding
from apisight.store import Catalog

#: Answers of a retired endpoint: one that answered every call in the window with these is
#: resolved, as its remediation asks (callers still knocking are no weakness of the API).
RETIRED = (404, 410)


class ZombieEndpointCheck(BaseCheck[InventoryCheckOptions]):
    """The inventory marks the endpoint ``zombie`` (deprecated in its spec, or an older version
    whose successor is documented) and it was still called and served in the window: answers
    that are all 404/410 Gone (:data:`RETIRED`) mean it is retired, and do not fire. Medium; one
    level up if it served clear sensitive data, one more (critical) if it also answered 2xx to
    requests with no credential: old versions tend to lack the fixes their successors got."""

    name = "zombie_endpoint"
    owasp = "API9:2023 Improper Inventory Management"
    severity = "medium"
    remediation = (
        "Retire it: tell the remaining callers (evidence lists how many) to move to the successor, announce a "
        "date with Deprecation/Sunset headers (RFC 8594), then answer 410 Gone at the gateway and remove the "
        "code. Until then, give it the same authentication and fixes as the current version."
    )
    settings_model = InventoryCheckOptions

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        return inventory_findings(self, catalog, since, "zombie", self.options.ignored_types, RETIRED)

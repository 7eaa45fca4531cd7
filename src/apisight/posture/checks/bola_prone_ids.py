"""Sequential integer object ids in paths that one caller walks through."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from apisight.posture.findings import BaseCheck, CheckOptions, Finding, SensitiveTypes, findings_from_frame
from apisight.store import Catalog
from apisight.store import evidence_inventory as queries


class BolaProneIdsOptions(CheckOptions):
    min_ids: int = Field(default=10, ge=2, description="distinct ids seen, and read by one principal")
    max_median_gap: int = Field(default=1000, ge=1, description="median gap between neighbouring ids, at most")
    min_numeric_share: float = Field(default=0.9, gt=0, le=1, description="share of the values that are integers")
    ignored_types: SensitiveTypes = Field(default=("ip_address",),
                                          description="sensitive types that do not make it high")


class BolaProneIdsCheck(BaseCheck[BolaProneIdsOptions]):
    """A path parameter of the template carries sequential integers (at least
    ``min_numeric_share`` of its values numeric, ``min_ids`` distinct, a median gap between
    neighbouring ids of at most ``max_median_gap``) and one principal (JWT subject, API key,
    credential, or the client IP when there is none) got 2xx answers for ``min_ids`` or more
    of them. Guessable ids plus one caller reading many is where BOLA is found; the check
    cannot see whether the caller owned the objects. High when those answers carried clear
    sensitive data. UUIDs, opaque and random ids never fire, nor do requests without any
    credential (public reads) or from ``network.internal_networks`` (a service reading on its
    users' behalf would be one caller walking every id)."""

    name = "bola_prone_ids"
    owasp = "API1:2023 Broken Object Level Authorization"
    severity = "medium"
    remediation = (
        "Check in the handler (or a shared policy layer) that the caller may access the object the id names, "
        "e.g. load it with WHERE id = :id AND owner_id = :caller, and answer 404 otherwise; add a test that "
        "reads another user's object. Expose random identifiers (UUIDv4 or opaque ids) instead of database "
        "sequence numbers so ids cannot be enumerated."
    )
    settings_model = BolaProneIdsOptions

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        o = self.options
        frame = queries.enumerable_ids(catalog.db, since, o.min_ids, o.max_median_gap, o.min_numeric_share,
                                       list(o.ignored_types))
        return findings_from_frame(self, frame)

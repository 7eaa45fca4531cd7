"""Sequential integer object ids in paths that one caller walks through."""

from __future__ import annotations

from datetime import datetime

from apisight.posture.findings import Finding, findings_from_frame
from apisight.store import Catalog
from apisight.store import findings as queries


class BolaProneIdsCheck:
    """A path parameter of the template carries sequential integers (at least
    ``min_numeric_share`` of its values numeric, ``min_ids`` distinct, a median gap between
    neighbouring ids of at most ``max_median_gap``) and one principal (JWT subject, API key,
    credential, or the client IP when there is none) got 2xx answers for ``min_ids`` or more
    of them. Guessable ids plus one caller reading many is where BOLA is found; the check
    cannot see whether the caller owned the objects. High when those answers carried clear
    sensitive data. UUIDs, opaque and random ids never fire, nor do requests without any
    credential (public reads)."""

    name = "bola_prone_ids"
    owasp = "API1:2023 Broken Object Level Authorization"
    severity = "medium"
    remediation = (
        "Check in the handler (or a shared policy layer) that the caller may access the object the id names, "
        "e.g. load it with WHERE id = :id AND owner_id = :caller, and answer 404 otherwise; add a test that "
        "reads another user's object. Expose random identifiers (UUIDv4 or opaque ids) instead of database "
        "sequence numbers so ids cannot be enumerated."
    )
    min_ids = 10
    max_median_gap = 1000
    min_numeric_share = 0.9
    ignored_types: tuple[str, ...] = ("ip_address",)

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        frame = queries.enumerable_ids(catalog.db, since, self.min_ids, self.max_median_gap, self.min_numeric_share,
                                       list(self.ignored_types))
        return findings_from_frame(self, frame)

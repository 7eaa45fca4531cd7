"""Related alerts become one incident: same or linked entities, close in time.

Two alerts are linked when one's entity or related entities (addresses, tokens,
principals) appear in the other's, and their spans are within a day of each other.
Linked alerts, transitively, form an incident; its severity is its worst alert's.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta

import orjson
import polars as pl

from apisight.detect.episodes import SEVERITY_RANK

LINK_GAP = timedelta(hours=24)


def group_incidents(alerts: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(incidents, assignment)``; assignment maps alert id to incident id."""
    if alerts.height == 0:
        return pl.DataFrame(), pl.DataFrame()
    rows = alerts.sort("first_seen").to_dicts()
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    keys: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        related = orjson.loads(r["related"]) if isinstance(r["related"], str) else (r["related"] or [])
        for k in {f"{r['entity_kind']}:{r['entity']}", *related}:
            keys.setdefault(k, []).append(i)
    for members in keys.values():
        for a, b in itertools.pairwise(members):
            ra, rb = rows[a], rows[b]
            if ra["first_seen"] - LINK_GAP <= rb["last_seen"] and rb["first_seen"] - LINK_GAP <= ra["last_seen"]:
                parent[find(a)] = find(b)
    groups: dict[int, list[int]] = {}
    for i in range(len(rows)):
        groups.setdefault(find(i), []).append(i)
    incidents: list[dict[str, object]] = []
    assignment: list[dict[str, str]] = []
    now = datetime.now(UTC)
    for members in groups.values():
        group = [rows[i] for i in members]
        first = min(group, key=lambda r: (r["first_seen"], r["id"]))
        iid = "i_" + hashlib.sha256(first["id"].encode()).hexdigest()[:16]
        detectors = sorted({r["detector"] for r in group})
        entities = sorted({f"{r['entity_kind']}:{r['entity']}" for r in group})
        incidents.append({
            "id": iid, "severity": max((r["severity"] for r in group), key=lambda s: SEVERITY_RANK.get(s, 0)),
            "alerts": len(group), "detectors": orjson.dumps(detectors).decode(),
            "entities": orjson.dumps(entities[:20]).decode(),
            "first_seen": min(r["first_seen"] for r in group), "last_seen": max(r["last_seen"] for r in group),
            "summary": f"{len(group)} alert(s): {', '.join(detectors)} on {', '.join(entities[:3])}"
                       + (" …" if len(entities) > 3 else ""),
            "updated_at": now,
        })
        assignment.extend({"id": r["id"], "incident_id": iid} for r in group)
    return pl.DataFrame(incidents), pl.DataFrame(assignment)

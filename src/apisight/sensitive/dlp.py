"""DLP thresholds: a client receiving too many distinct sensitive values too fast.

Counted in event time over the stored findings (so a replay of history raises the
same alerts), by keyed fingerprint (distinct values, never the values), per client —
the partner, else the principal, else the API key, else the IP.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson
import polars as pl

from apisight.config import DlpRule
from apisight.store import Catalog
from apisight.store import alerts as q


def evaluate_dlp(catalog: Catalog, rules: list[DlpRule], run_id: str) -> int:
    """Raise the alerts the rules call for and that were not raised before; returns how many."""
    db = catalog.db
    q.ensure_alerts(db)
    raised = 0
    for rule in rules:
        windows = q.dlp_windows(db, rule.types, rule.direction, rule.window_minutes, rule.distinct_values)
        if windows.height == 0:
            continue
        fresh = _not_alerted(_merge(windows), q.dlp_alerts(db, rule.name))
        q.upsert_alerts(db, _alert_rows(fresh, rule, run_id))
        raised += len(fresh)
    return raised


def _merge(windows: pl.DataFrame) -> list[dict[str, Any]]:
    """Overlapping windows of one client become one incident (the largest window describes it)."""
    incidents: list[dict[str, Any]] = []
    for row in windows.sort("client", "first_seen").iter_rows(named=True):
        last = incidents[-1] if incidents else None
        if last and last["client"] == row["client"] and row["first_seen"] <= last["last_seen"]:
            last["last_seen"] = max(last["last_seen"], row["last_seen"])
            if row["distinct_values"] > last["distinct_values"]:
                last.update({k: row[k] for k in ("distinct_values", "events", "types", "endpoints", "sample_event_ids")})
            continue
        incidents.append(dict(row))
    return incidents


def _not_alerted(incidents: list[dict[str, Any]], existing: pl.DataFrame) -> list[dict[str, Any]]:
    seen = [(r["entity"], r["first_seen"], r["last_seen"]) for r in existing.iter_rows(named=True)]
    return [
        i for i in incidents
        if not any(c == i["client"] and f <= i["last_seen"] and i["first_seen"] <= l for c, f, l in seen)
    ]


def _alert_rows(incidents: list[dict[str, Any]], rule: DlpRule, run_id: str) -> pl.DataFrame:
    now = datetime.now(UTC)
    rows = []
    for i in incidents:
        key = f"{rule.name}|{i['client']}|{i['first_seen'].isoformat()}"
        evidence = {"rule": rule.name, "types": list(i["types"]), "distinct_values": i["distinct_values"],
                    "events": i["events"], "window_minutes": rule.window_minutes, "threshold": rule.distinct_values}
        rows.append({
            "id": "dlp-" + hashlib.sha256(key.encode()).hexdigest()[:16],
            "detector": "dlp", "title": f"DLP: {rule.name}", "entity_kind": i["client_kind"], "entity": i["client"],
            "severity": rule.severity, "confidence": 0.9, "first_seen": i["first_seen"], "last_seen": i["last_seen"],
            "detected_at": i["last_seen"], "endpoints": _json(list(i["endpoints"])), "evidence": _json(evidence),
            "sample_event_ids": _json(list(i["sample_event_ids"])), "related": "[]", "limits": "[]",
            "owasp": _json(["API3:2023"]), "mitre": _json(["T1213", "T1530"]),
            "summary": (f"{i['client']} received {i['distinct_values']} distinct {', '.join(i['types'])} values "
                        f"within {rule.window_minutes} min (threshold {rule.distinct_values})"),
            "incident_id": None, "events": i["events"], "first_run": run_id, "last_run": run_id,
            "created_at": now, "updated_at": now,
        })
    return pl.DataFrame(rows)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()

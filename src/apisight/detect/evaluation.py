"""Scoring stored alerts against the demo generator's labelled scenarios.

Used by ``bench/detect_eval.py`` and the tests. Matching and scores are described
there; in short, an alert matches an attack scenario when its detector is the
scenario's kind, its entity is the scenario's entity, and its event-time span
overlaps the scenario's (± :data:`SLACK`).
"""

from __future__ import annotations

import ipaddress
import json
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from apisight.fingerprints import Fingerprinter, load_key
from apisight.store import Catalog
from apisight.store.alerts import load_alerts, load_api_changes

SLACK = timedelta(hours=1)
#: Labelled kinds judged by discovery, not by detectors.
NOT_DETECTION = ("shadow_endpoint", "zombie_endpoint")


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def entity_matches(label: dict[str, Any], alert: dict[str, Any], fp: Fingerprinter) -> bool:
    kind, value = label["kind"], label["value"]
    a_kind, a_value = alert["entity_kind"], str(alert["entity"])
    if kind in ("ip", "ip_range"):
        if a_kind not in ("ip", "ip_net"):
            return False
        labelled = ipaddress.ip_network(value, strict=False)
        try:
            found = ipaddress.ip_network(a_value, strict=False)
        except ValueError:
            return False
        return labelled.overlaps(found)
    if kind in ("principal", "customer_id"):
        return a_kind == "principal" and a_value == value
    if kind == "api_key":
        return a_kind == "api_key" and a_value == "key_" + fp(value)[:12]
    if kind == "username":
        return a_kind == "username" and a_value == fp(value.strip().lower())
    if kind == "user_agent":
        return a_kind == "user_agent" and a_value == value
    return False


def evaluate(root: Path, labels_path: Path) -> dict[str, Any]:
    fp = Fingerprinter(load_key(root))
    labels = [json.loads(line) for line in labels_path.read_text().splitlines() if line.strip()]
    with Catalog(root, read_only=True) as catalog:
        alerts = load_alerts(catalog.db).to_dicts()
        changes = load_api_changes(catalog.db).to_dicts()
        total_events = int(catalog.db.sql("SELECT count(*) AS n FROM events").pl()["n"][0])
    requests = pl.read_parquet(labels_path.parent / "requests.parquet")
    attacks = [s for s in labels if s["expected"] == "alert" and s["kind"] not in NOT_DETECTION]
    attack_names = {s["name"] for s in attacks}
    attack_events = requests.filter(pl.col("scenario").is_in(list(attack_names))).height
    for a in alerts:
        a["endpoints"] = orjson.loads(a["endpoints"]) if isinstance(a["endpoints"], str) else a["endpoints"]
    per: dict[str, dict[str, Any]] = defaultdict(lambda: {"scenarios": 0, "found": 0, "alerts": 0, "true_alerts": 0,
                                                          "ttd_s": [], "missed": [], "false": []})
    matched_alerts: set[str] = set()
    for s in attacks:
        start, end = _ts(s["start"]), _ts(s["end"])
        hits = [a for a in alerts if a["detector"] == s["kind"] and entity_matches(s["entity"], a, fp)
                and a["first_seen"] <= end + SLACK and a["last_seen"] >= start - SLACK]
        row = per[s["kind"]]
        row["scenarios"] += 1
        if hits:
            row["found"] += 1
            row["ttd_s"].append(min((a["detected_at"] - start).total_seconds() for a in hits))
            matched_alerts.update(a["id"] for a in hits)
        else:
            row["missed"].append(s["name"])
    for a in alerts:
        if a["detector"] == "dlp":
            continue
        row = per[a["detector"]]
        row["alerts"] += 1
        if a["id"] in matched_alerts:
            row["true_alerts"] += 1
        else:
            row["false"].append(f"{a['entity_kind']}={a['entity']} {a['summary']}")
    benign_hits = []
    for s in labels:
        if s["expected"] != "no_alert":
            continue
        start, end = _ts(s["start"]) - SLACK, _ts(s["end"]) + SLACK
        for a in alerts:
            if not (a["first_seen"] <= end and a["last_seen"] >= start):
                continue
            on_entity = s["entity"]["kind"] != "endpoint" and entity_matches(s["entity"], a, fp)
            on_endpoint = s["entity"]["kind"] == "endpoint" and a["id"] not in matched_alerts and any(
                e in s["endpoints"] for e in a["endpoints"])
            if on_entity or on_endpoint:
                benign_hits.append({"scenario": s["name"], "detector": a["detector"], "entity": a["entity"]})
    rollout = [s for s in labels if s["kind"] == "api_change"]
    recorded = [c for c in changes if rollout and any(f"{c['method']} {c['path']}" in s["endpoints"]
                                                      and abs(c["ts"] - _ts(s["start"])) <= SLACK for s in rollout)]
    false_alerts = sum(len(r["false"]) for r in per.values())
    benign_events = max(1, total_events - attack_events)
    return {"detectors": dict(per), "benign_hits": benign_hits, "events": total_events,
            "benign_events": benign_events, "false_alerts": false_alerts,
            "false_alerts_per_million": round(false_alerts / benign_events * 1e6, 2),
            "rollout_recorded_as_api_change": bool(recorded), "api_changes": len(changes),
            "other_api_changes": [f"{c['method']} {c['host']}{c['path']} {c['change']} {c['ts']}" for c in changes
                                  if c not in recorded]}



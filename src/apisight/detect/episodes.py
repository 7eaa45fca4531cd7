"""From firing windows to alerts: one alert per detector, entity and episode.

Overlapping or adjacent windows of one entity are one episode; an episode that
overlaps an alert already stored (the same records read again, a late record, the
next run continuing the attack) extends that alert instead of raising another one.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import polars as pl

from apisight.detect.detector import Detector

SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3, "critical": 4}
_RANK_NAME = {v: k for k, v in SEVERITY_RANK.items()}


def episodes(candidates: pl.DataFrame, gap: timedelta) -> pl.DataFrame:
    """Merge one detector's candidates into episodes per entity (the strongest window describes each)."""
    if candidates.height == 0:
        return candidates
    key = ["entity_kind", "entity"]
    c = candidates.sort(*key, "first_seen").with_columns(
        pl.col("severity").replace_strict(SEVERITY_RANK, default=2).alias("_rank"))
    prev_end = pl.col("last_seen").cum_max().shift(1).over(key)
    c = c.with_columns((prev_end.is_null() | (pl.col("first_seen") > prev_end + gap)).alias("_new"))
    c = c.with_columns(pl.col("_new").cum_sum().over(key).alias("_episode"))
    best = pl.col("score").arg_max()
    return c.group_by(*key, "_episode").agg(
        pl.col("first_seen").min(), pl.col("last_seen").max(), pl.col("detected_at").min(),
        pl.col("events").max(), pl.col("score").max(), pl.col("confidence").max(),
        pl.col("_rank").max(),
        pl.col("endpoints").list.explode(keep_nulls=False, empty_as_null=False).unique(maintain_order=True).head(10),
        pl.col("sample_event_ids").get(best),
        pl.col("related").list.explode(keep_nulls=False, empty_as_null=False).unique(maintain_order=True).head(20),
        pl.col("limits").list.explode(keep_nulls=False, empty_as_null=False).unique(maintain_order=True),
        pl.col("evidence").get(best), pl.col("summary").get(best),
        pl.len().alias("windows"),
    ).with_columns(pl.col("_rank").replace_strict(_RANK_NAME).alias("severity")).drop("_episode", "_rank")


def alert_id(detector: str, entity_kind: str, entity: str, first_seen: datetime) -> str:
    key = f"{detector}|{entity_kind}|{entity}|{first_seen.isoformat()}"
    return "a_" + hashlib.sha256(key.encode()).hexdigest()[:16]


def merge_with_stored(detector: Detector, found: pl.DataFrame, stored: pl.DataFrame, gap: timedelta,
                      run_id: str) -> tuple[pl.DataFrame, int, int]:
    """Alert rows to upsert, and how many are new and how many extend a stored alert."""
    now = datetime.now(UTC)
    mine = stored.filter(pl.col("detector") == detector.name) if stored.height else stored
    by_entity: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in mine.iter_rows(named=True):
        by_entity.setdefault((row["entity_kind"], row["entity"]), []).append(row)
    rows, new, extended = [], 0, 0
    for ep in found.iter_rows(named=True):
        match = next((s for s in by_entity.get((ep["entity_kind"], ep["entity"]), [])
                      if s["first_seen"] - gap <= ep["last_seen"] and ep["first_seen"] <= s["last_seen"] + gap), None)
        evidence = {**orjson.loads(ep["evidence"]), "windows": ep["windows"]}
        row = {
            "detector": detector.name, "title": detector.title, "entity_kind": ep["entity_kind"],
            "entity": ep["entity"], "severity": ep["severity"], "confidence": ep["confidence"],
            "first_seen": ep["first_seen"], "last_seen": ep["last_seen"], "detected_at": ep["detected_at"],
            "endpoints": ep["endpoints"], "evidence": evidence, "sample_event_ids": ep["sample_event_ids"],
            "related": ep["related"], "limits": ep["limits"], "owasp": list(detector.owasp),
            "mitre": list(detector.mitre), "summary": ep["summary"], "incident_id": None, "events": ep["events"],
            "first_run": run_id, "last_run": run_id, "created_at": now, "updated_at": now,
        }
        if match is None:
            row["id"] = alert_id(detector.name, ep["entity_kind"], ep["entity"], ep["first_seen"])
            new += 1
            by_entity.setdefault((ep["entity_kind"], ep["entity"]), []).append(
                {**row, "evidence": orjson.dumps(evidence).decode()})
        else:
            extended += 1
            stronger = ep["events"] >= (match["events"] or 0)
            row.update(
                id=match["id"], first_seen=min(match["first_seen"], ep["first_seen"]),
                last_seen=max(match["last_seen"], ep["last_seen"]),
                detected_at=min(match["detected_at"] or ep["detected_at"], ep["detected_at"]),
                events=max(match["events"] or 0, ep["events"]), first_run=match["first_run"],
                created_at=match["created_at"], confidence=max(match["confidence"] or 0, ep["confidence"]),
            )
            if not stronger:
                row.update(evidence=orjson.loads(match["evidence"]), summary=match.get("summary", row["summary"]),
                           sample_event_ids=_json_list(match["sample_event_ids"]))
            row["endpoints"] = _union(_json_list(match["endpoints"]), ep["endpoints"])
            row["related"] = _union(_json_list(match["related"]), ep["related"])
            row["severity"] = max(match["severity"], ep["severity"], key=lambda s: SEVERITY_RANK.get(s, 0))
            match.update(first_seen=row["first_seen"], last_seen=row["last_seen"], events=row["events"])
        rows.append(row)
    return _frame(rows), new, extended


def _json_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return list(orjson.loads(value))
    return list(value)


def _union(a: list[str], b: list[str]) -> list[str]:
    return list(dict.fromkeys([*a, *b]))[:20]


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    if not rows:
        return pl.DataFrame()
    json_cols = ("endpoints", "evidence", "sample_event_ids", "related", "limits", "owasp", "mitre")

    def cell(key: str, value: Any) -> Any:
        if key in json_cols:
            return orjson.dumps(value, default=str).decode()
        if isinstance(value, datetime):  # stored alerts come back in the catalog's zone name
            return value.astimezone(UTC)
        return value

    return pl.DataFrame([{k: cell(k, v) for k, v in r.items()} for r in rows])

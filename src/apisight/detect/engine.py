"""The detection stage: stored events of a run in, alerts, incidents and API changes out.

Events are read back one time slice at a time (:mod:`apisight.detect.slices`: only the
columns detection needs, at most ``BATCH_ROWS`` events, oldest first), so memory is set
by the slice size and the kept state, never by how many events a day or a run holds.
Each slice becomes the detection frame and one micro-batch: it first updates the
long-lived state (devices, hourly baselines, endpoint hours), then each detector
evaluates its windows over its kept rows plus the batch. A record read twice reaches
it once (the store keeps each record once: :mod:`apisight.store.dedup`); records older than the watermark minus the allowed
lateness are counted as late and left to ``apisight detect --replay``; records dated
more than a day ahead of the wall clock are counted and left out, so one bad clock
cannot push the watermark past everyone else's records.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from apisight.config import Settings
from apisight.detect import geo
from apisight.detect.detector import CANDIDATE_SCHEMA, Context, Detector
from apisight.detect.episodes import episodes, merge_with_stored
from apisight.detect.features import build
from apisight.detect.incidents import group_incidents
from apisight.detect.registry import enabled_detectors
from apisight.detect.roles import endpoint_roles
from apisight.detect.shifts import SHIFT_SCHEMA, api_change_rows, explained, find_shifts
from apisight.detect.slices import Slice, by_day, plan, read
from apisight.detect.state import DetectionState
from apisight.store import Catalog
from apisight.store import alerts as q
from apisight.store.inventory import ensure_tables as ensure_inventory
from apisight.store.layout import detect_dir
from apisight.store.writer import DETECTION_STATE

log = logging.getLogger(__name__)

#: Events per micro-batch: a day is read and detected in time slices of at most this many.
BATCH_ROWS = 150_000
#: Raw paths the catalog may map for the whole mapping to be read once (about 100 bytes each).
TEMPLATES_IN_MEMORY = 500_000
#: Records dated further ahead of the wall clock than this come from a wrong clock.
CLOCK_SKEW = timedelta(days=1)


def state_dir(catalog: Catalog) -> Path:
    """The folder of the catalog's detection state (before folders per run: ``detect/`` itself)."""
    current = catalog.pointer(DETECTION_STATE)
    return detect_dir(catalog.data_dir) / current if current else detect_dir(catalog.data_dir)


def committed_state(data_dir: Path) -> DetectionState:
    """The detection state the committed catalog of ``data_dir`` names."""
    with Catalog(data_dir, read_only=True) as catalog:
        return DetectionState.load(state_dir(catalog))


def store_roles(catalog: Catalog, settings: Settings) -> pl.DataFrame:
    """Roles of every inventoried endpoint, refreshed into ``endpoint_roles``."""
    db = catalog.db
    ensure_inventory(db)
    endpoints = db.sql("SELECT DISTINCT host, method, template AS path FROM path_templates").pl()
    roles = endpoint_roles(endpoints, settings.detect.roles)
    db.execute("CREATE TABLE IF NOT EXISTS endpoint_roles (host VARCHAR, method VARCHAR, path VARCHAR, "
               "role VARCHAR, origin VARCHAR, PRIMARY KEY (host, method, path))")
    db.register("_roles", roles)
    db.execute("INSERT OR REPLACE INTO endpoint_roles SELECT * FROM _roles")
    db.unregister("_roles")
    return roles


def detect_stored(data_dir: Path, files: list[Path], settings: Settings, run_id: str,
                  catalog_file: Path | None = None) -> dict[str, Any]:
    """:func:`run_detection` on the catalog of ``data_dir`` (or the working copy
    ``catalog_file`` of a write transaction), opened here, for a separate process."""
    with Catalog(data_dir, file=catalog_file) as catalog:
        return run_detection(catalog, files, settings, run_id)


def run_detection(catalog: Catalog, files: list[Path], settings: Settings, run_id: str, *,
                  replay: bool = False) -> dict[str, Any]:
    """Detect over the events in ``files``; returns the stage's summary."""
    started = time.perf_counter()
    detectors = enabled_detectors(settings.detect)
    state = DetectionState() if replay else DetectionState.load(state_dir(catalog))
    db = catalog.db
    q.ensure_alerts(db)
    roles = store_roles(catalog, settings)
    templates = _template_lookup(db)
    counts = {"events": 0, "late": 0, "future": 0, "suppressed": 0}
    found: dict[str, list[pl.DataFrame]] = {d.name: [pl.DataFrame(schema=CANDIDATE_SCHEMA)] for d in detectors}
    shifts: list[pl.DataFrame] = [pl.DataFrame(schema=SHIFT_SCHEMA)]
    for day_files in by_day(files):
        for part in plan(day_files, BATCH_ROWS):  # one slice of the stored events in memory at a time
            batch = _batch(part, templates, roles, state, settings, counts)
            _detect_batch(batch, detectors, state, settings, found, shifts, counts)
            del batch  # released before the next slice is read
    new_alerts, by_detector = _raise_alerts(db, detectors, found, run_id)
    changes = api_change_rows(pl.concat(shifts).unique(), q.load_api_changes(db), run_id)
    q.insert_api_changes(db, changes)
    incidents, assignment = group_incidents(q.load_alerts(db))
    q.replace_incidents(db, incidents, assignment)
    state.save(detect_dir(catalog.data_dir) / run_id)  # a folder of its own: the run's commit points at it
    catalog.set_pointer(DETECTION_STATE, run_id)
    entities = state.active_entities()
    size = state.size_bytes()
    return {
        "events": counts["events"], "late": counts["late"],
        "future": counts["future"], "new_alerts": new_alerts, "by_detector": by_detector,
        "suppressed_by_shifts": counts["suppressed"], "api_changes": changes.height,
        "incidents": incidents.height, "geo": geo.available(),
        "state": {"bytes": size, "active_entities": entities,
                  "bytes_per_entity": round(size / entities, 1) if entities else 0.0},
        "seconds": round(time.perf_counter() - started, 3),
    }


def _batch(part: Slice, templates: Callable[[pl.DataFrame], pl.DataFrame], roles: pl.DataFrame,
           state: DetectionState, settings: Settings, counts: dict[str, int]) -> pl.DataFrame:
    """The detection frame of one slice: its events not seen before and on time."""
    events = read(part)
    features = build(events, templates(events), roles)
    del events
    features = _on_time(features, state, settings, counts)
    counts["events"] += features.height
    return features


def _template_lookup(db: Any) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """Raw path → template for a batch's events: the whole mapping, read once, while the
    catalog holds at most :data:`TEMPLATES_IN_MEMORY` raw paths; past that (the mapping
    grows with every raw path ever seen), the batch's own paths, looked up per batch."""
    query = "SELECT host, method, path, template FROM path_templates"
    if db.execute("SELECT count(*) FROM path_templates").fetchall()[0][0] <= TEMPLATES_IN_MEMORY:
        whole = db.sql(query).pl()
        return lambda events: whole

    def lookup(events: pl.DataFrame) -> pl.DataFrame:
        db.register("_batch_paths", events.select(pl.col("host").fill_null(""), "method", "path").unique())
        try:
            return db.sql(f"{query} WHERE (host, method, path) IN (SELECT host, method, path FROM _batch_paths)").pl()
        finally:
            db.unregister("_batch_paths")

    return lookup


def _on_time(features: pl.DataFrame, state: DetectionState, settings: Settings,
             counts: dict[str, int]) -> pl.DataFrame:
    """Leave out (and count) records from a wrong clock and records later than the allowed lateness."""
    future = pl.col("ts") > datetime.now(UTC) + CLOCK_SKEW  # a wrong clock must not move the watermark
    counts["future"] += features.filter(future).height
    features = features.filter(~future)
    if state.watermark is not None:
        on_time = pl.col("ts") >= state.watermark - timedelta(minutes=settings.detect.lateness_minutes)
        counts["late"] += features.filter(~on_time).height
        features = features.filter(on_time)
    return features


def _detect_batch(batch: pl.DataFrame, detectors: list[Detector], state: DetectionState, settings: Settings,
                  found: dict[str, list[pl.DataFrame]], shifts: list[pl.DataFrame], counts: dict[str, int]) -> None:
    """One micro-batch: update the state, then every detector over its kept rows plus the batch."""
    state.absorb(batch)
    shifts.append(find_shifts(state.endpoint_hours, batch))
    known_shifts = pl.concat(shifts)
    ctx = Context(watermark=state.watermark, learning=timedelta(hours=settings.detect.learning_hours),  # type: ignore[arg-type]
                  devices=state.devices, hourly=state.hourly, owners=state.owners, geo=geo.available())
    for det in detectors:
        rows = det.rows(batch)
        kept = state.rows.get(det.name)
        rows = pl.concat([kept, rows], how="vertical_relaxed") if kept is not None and kept.height else rows
        state.rows[det.name] = rows
        candidates = _detect(det, rows, ctx)
        if det.suppress_on_shift and candidates.height:
            mask = explained(candidates, known_shifts)
            counts["suppressed"] += int(mask.sum())
            candidates = candidates.filter(~mask)
        found[det.name].append(candidates)
    state.expire({d.name: d.horizon for d in detectors}, timedelta(minutes=settings.detect.lateness_minutes),
                 timedelta(days=settings.detect.entity_idle_days))


def _raise_alerts(db: Any, detectors: list[Detector], found: dict[str, list[pl.DataFrame]],
                  run_id: str) -> tuple[int, dict[str, int]]:
    """Episodes per detector, a generic detector's yielding to specific ones, merged with the stored alerts."""
    stored = q.alerts_of(db, [d.name for d in detectors])
    merged = {d.name: episodes(pl.concat(found[d.name]), d.horizon) for d in detectors}
    columns = ("entity_kind", "entity", "first_seen", "last_seen")
    specific = pl.concat([pl.DataFrame(schema={c: CANDIDATE_SCHEMA[c] for c in columns}),
                          *(merged[d.name].select(columns) for d in detectors if not d.generic)])
    new_alerts, by_detector = 0, {}
    for det in detectors:
        episodes_found = merged[det.name]
        if det.generic:
            episodes_found = _not_explained(episodes_found, specific)
        rows, new, _extended = merge_with_stored(det, episodes_found, stored, det.horizon, run_id)
        q.upsert_alerts(db, rows)
        new_alerts += new
        by_detector[det.name] = new
    return new_alerts, by_detector


def _not_explained(found: pl.DataFrame, specific: pl.DataFrame) -> pl.DataFrame:
    """A generic detector's episodes that no specific detector reported on the same entity at the same time."""
    if found.height == 0 or specific.height == 0:
        return found
    overlap = (found.with_row_index("_i").join(specific, on=["entity_kind", "entity"], suffix="_s")
               .filter((pl.col("first_seen_s") <= pl.col("last_seen")) & (pl.col("first_seen") <= pl.col("last_seen_s"))))
    return found.with_row_index("_i").filter(~pl.col("_i").is_in(overlap["_i"].implode())).drop("_i")


def _detect(det: Detector, rows: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    if rows.height == 0:
        return pl.DataFrame(schema=CANDIDATE_SCHEMA)
    return det.detect(rows, ctx).select(list(CANDIDATE_SCHEMA)).cast(CANDIDATE_SCHEMA)  # type: ignore[arg-type]

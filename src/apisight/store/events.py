"""Enriched events on disk: Parquet files under ``events/date=YYYY-MM-DD/``.

Each run writes its own files (``part-<run>-<n>.parquet``), so appending never
rewrites what is there; a file is read only once the catalog lists it
(:mod:`apisight.store.manifest`), so a failed run leaves nothing anyone reads.
Retention removes whole days older than the newest stored event minus the retention
period: it counts in event time, so analysing last year's logs keeps them.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from apisight.errors import StoreError
from apisight.store import manifest
from apisight.store.layout import events_dir, sensitive_dir
from apisight.store.manifest import PARTITION

if TYPE_CHECKING:
    from apisight.store.catalog import Catalog


def write_events(data_dir: Path, events: pl.DataFrame, batch_id: str) -> list[Path]:
    """Append a batch of canonical events, one file per event date; returns the files.

    ``batch_id`` (unique per run and batch) names the files, so batches can be written
    from several processes at once without coordination.
    """
    return _write_partitioned(events_dir(data_dir), events, batch_id)


def write_findings(data_dir: Path, findings: pl.DataFrame, batch_id: str) -> list[Path]:
    """Append a batch of sensitive-data findings (masked, fingerprinted), by event date."""
    return _write_partitioned(sensitive_dir(data_dir), findings, batch_id)


def _write_partitioned(root: Path, events: pl.DataFrame, batch_id: str) -> list[Path]:
    if events.height == 0:
        return []
    written = []
    by_day = events.with_columns(pl.col("ts").dt.date().alias("_day")).partition_by(
        "_day", as_dict=True, include_key=False
    )
    for (day,), part in by_day.items():
        folder = root / f"{PARTITION}{'undated' if day is None else day.isoformat()}"
        path = folder / f"part-{batch_id}.parquet"
        partial = folder / f".part-{batch_id}.parquet.tmp"  # invisible to the events view until complete
        try:
            folder.mkdir(parents=True, exist_ok=True)
            part.write_parquet(partial, compression="zstd", compression_level=1, statistics=True)
            os.replace(partial, path)
        except OSError as e:
            raise StoreError(f"cannot write {path}: {e}") from e
        written.append(path)
    return written


def apply_retention(catalog: Catalog, days: int, today: date | None = None) -> list[date]:
    """Take days more than ``days`` before the newest stored one out of the store; returns them.

    Time is event time, so old logs analysed today are kept; but the anchor is never
    later than tomorrow, so a few events with a clock far in the future cannot wipe
    the rest of the history. The days leave the catalog's list of stored files (events
    and the findings found in them) at once and the disk once the change is committed.
    """
    stored = manifest.stored_days(catalog.db)
    if not stored:
        return []
    latest_plausible = (today or datetime.now(UTC).date()) + timedelta(days=1)
    cutoff = min(max(stored), latest_plausible) - timedelta(days=days - 1)
    removed = [d for d in stored if d < cutoff]
    manifest.forget_days(catalog.db, removed)
    return removed

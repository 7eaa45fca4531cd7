"""Enriched events on disk: Parquet files under ``events/date=YYYY-MM-DD/``.

Each run writes its own files (``part-<run>-<n>.parquet``), so appending never
rewrites what is there and a failed run leaves earlier data intact. Retention removes
whole date partitions older than the newest stored event minus the retention period:
it counts in event time, so analysing last year's logs keeps them.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from apisight.errors import StoreError
from apisight.store.layout import events_dir, sensitive_dir

PARTITION = "date="


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


def partitions(data_dir: Path, root: Path | None = None) -> dict[date, Path]:
    """Stored date partitions by day (of events, or of another dataset under ``root``)."""
    found: dict[date, Path] = {}
    root = root or events_dir(data_dir)
    if not root.is_dir():
        return found
    for folder in root.iterdir():
        if folder.is_dir() and folder.name.startswith(PARTITION):
            try:
                found[date.fromisoformat(folder.name[len(PARTITION) :])] = folder
            except ValueError:
                continue
    return found


def apply_retention(data_dir: Path, days: int, today: date | None = None) -> list[date]:
    """Delete partitions more than ``days`` before the newest one; returns the days removed.

    Time is event time, so old logs analysed today are kept; but the anchor is never
    later than tomorrow, so a few events with a clock far in the future cannot wipe
    the rest of the history.
    """
    stored = partitions(data_dir)
    if not stored:
        return []
    latest_plausible = (today or datetime.now(UTC).date()) + timedelta(days=1)
    cutoff = min(max(stored), latest_plausible) - timedelta(days=days - 1)
    removed = sorted(d for d in stored if d < cutoff)
    for d in removed:
        shutil.rmtree(stored[d], ignore_errors=True)
    for d, folder in partitions(data_dir, sensitive_dir(data_dir)).items():
        if d < cutoff:  # findings go with the events they were found in
            shutil.rmtree(folder, ignore_errors=True)
    return removed


def has_events(data_dir: Path, root: Path | None = None) -> bool:
    root = root or events_dir(data_dir)
    return any(root.glob(f"{PARTITION}*/*.parquet")) if root.is_dir() else False

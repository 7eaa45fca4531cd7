"""Enriched events on disk: Parquet files under ``events/date=YYYY-MM-DD/``.

Each run writes its own files (``part-<run>-<n>.parquet``), so appending never
rewrites what is there and a failed run leaves earlier data intact. Retention removes
whole date partitions older than the newest stored event minus the retention period:
it counts in event time, so analysing last year's logs keeps them.
"""

from __future__ import annotations

import shutil
import threading
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from apisight.errors import StoreError
from apisight.store.layout import events_dir

PARTITION = "date="


class EventWriter:
    """Writes canonical event batches for one run."""

    def __init__(self, data_dir: Path, run_id: str) -> None:
        self.root = events_dir(data_dir)
        self.run_id = run_id
        self.files: list[Path] = []
        self._lock = threading.Lock()

    def write(self, events: pl.DataFrame, batch_id: str) -> None:
        """Append a batch, split by event date; ``batch_id`` makes its file names unique.

        Safe to call from several threads at once.
        """
        if events.height == 0:
            return
        day = pl.col("ts").dt.date()
        for (partition_day,), part in events.with_columns(day.alias("_day")).partition_by(
            "_day", as_dict=True, include_key=False
        ).items():
            name = "undated" if partition_day is None else partition_day.isoformat()
            folder = self.root / f"{PARTITION}{name}"
            path = folder / f"part-{batch_id}.parquet"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                part.write_parquet(path, compression="zstd", compression_level=1, statistics=True)
            except OSError as e:
                raise StoreError(f"cannot write {path}: {e}") from e
            with self._lock:
                self.files.append(path)


def partitions(data_dir: Path) -> dict[date, Path]:
    """Stored date partitions by day."""
    found: dict[date, Path] = {}
    root = events_dir(data_dir)
    if not root.is_dir():
        return found
    for folder in root.iterdir():
        if folder.is_dir() and folder.name.startswith(PARTITION):
            try:
                found[date.fromisoformat(folder.name[len(PARTITION) :])] = folder
            except ValueError:
                continue
    return found


def apply_retention(data_dir: Path, days: int) -> list[date]:
    """Delete partitions more than ``days`` before the newest one; returns the days removed."""
    stored = partitions(data_dir)
    if not stored:
        return []
    cutoff = max(stored) - timedelta(days=days - 1)
    removed = sorted(d for d in stored if d < cutoff)
    for d in removed:
        shutil.rmtree(stored[d], ignore_errors=True)
    return removed


def has_events(data_dir: Path) -> bool:
    return any(events_dir(data_dir).glob(f"{PARTITION}*/*.parquet")) if events_dir(data_dir).is_dir() else False

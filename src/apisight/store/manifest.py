"""The stored files: which Parquet files of a data directory hold its events and findings.

A file is part of the store when the catalog lists it in ``stored_files``, not when it
merely lies in the folder: an analysis writes its files where they will stay, but they
join the ``events`` and ``sensitive`` views only when the catalog that lists them is
committed (:mod:`apisight.store.writer`). A run killed half-way therefore leaves files
nobody reads, which the next writer deletes; and retention takes a day out of the list
first and off the disk only once that is committed.

Paths are kept relative to the dataset's folder (``date=2026-11-25/part-<batch>.parquet``).
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb

from apisight.store.layout import events_dir, sensitive_dir

PARTITION = "date="
DATASETS = ("events", "sensitive")

_DDL = """
CREATE TABLE IF NOT EXISTS stored_files (
    dataset VARCHAR,
    file VARCHAR,
    day DATE,
    run_id VARCHAR,
    PRIMARY KEY (dataset, file)
)
"""


def dataset_root(data_dir: Path, dataset: str) -> Path:
    return events_dir(data_dir) if dataset == "events" else sensitive_dir(data_dir)


def ensure(db: duckdb.DuckDBPyConnection, data_dir: Path) -> None:
    """Create the list; a catalog made before it existed adopts the files on disk once."""
    exists = has_list(db)
    db.execute(_DDL)
    if not exists:
        for dataset in DATASETS:
            rows = [(dataset, f, day, None) for f, day in on_disk(data_dir, dataset).items()]
            if rows:
                db.executemany("INSERT INTO stored_files VALUES (?, ?, ?, ?)", rows)


def has_list(db: duckdb.DuckDBPyConnection) -> bool:
    return bool(db.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'stored_files'"
    ).fetchall()[0][0])


def add(db: duckdb.DuckDBPyConnection, data_dir: Path, dataset: str, files: list[Path], run_id: str) -> None:
    """List ``files`` (absolute, under the dataset's folder) as stored by ``run_id``."""
    root = dataset_root(data_dir, dataset)
    rows = [(dataset, f.relative_to(root).as_posix(), day_of(f.parent.name), run_id) for f in files]
    if rows:
        db.executemany("INSERT OR REPLACE INTO stored_files VALUES (?, ?, ?, ?)", rows)


def listed(db: duckdb.DuckDBPyConnection, data_dir: Path, dataset: str,
           days: list[date | None] | None = None) -> list[Path]:
    """The stored files of ``dataset`` (of ``days`` only, if given), oldest day first."""
    rows = db.execute("SELECT file, day FROM stored_files WHERE dataset = ? ORDER BY file", [dataset]).fetchall()
    root = dataset_root(data_dir, dataset)
    wanted = None if days is None else set(days)
    return [root / f for f, day in rows if wanted is None or day in wanted]


def listed_days(db: duckdb.DuckDBPyConnection) -> dict[str, date | None]:
    """Every stored event file (relative) with its day."""
    return dict(db.execute("SELECT file, day FROM stored_files WHERE dataset = 'events'").fetchall())


def stored_days(db: duckdb.DuckDBPyConnection) -> list[date]:
    rows = db.execute("SELECT DISTINCT day FROM stored_files WHERE dataset = 'events' AND day IS NOT NULL").fetchall()
    return sorted(r[0] for r in rows)


def forget_days(db: duckdb.DuckDBPyConnection, days: list[date]) -> None:
    """Take the files of ``days`` out of the store (their files are deleted after commit)."""
    if days:
        db.execute("DELETE FROM stored_files WHERE day IN (SELECT unnest(?::DATE[]))", [days])


def forget(db: duckdb.DuckDBPyConnection, data_dir: Path, dataset: str, files: list[Path]) -> None:
    root = dataset_root(data_dir, dataset)
    names = [f.relative_to(root).as_posix() for f in files]
    if names:
        db.execute("DELETE FROM stored_files WHERE dataset = ? AND file IN (SELECT unnest(?::VARCHAR[]))",
                   [dataset, names])


def on_disk(data_dir: Path, dataset: str) -> dict[str, date | None]:
    """Parquet files lying in a dataset's folder (``date=…/part-….parquet``) with their day."""
    found: dict[str, date | None] = {}
    root = dataset_root(data_dir, dataset)
    if not root.is_dir():
        return found
    with os.scandir(root) as folders:
        for folder in folders:
            if folder.is_dir() and folder.name.startswith(PARTITION):
                day = day_of(folder.name)
                with os.scandir(folder.path) as files:
                    found.update({f"{folder.name}/{f.name}": day for f in files
                                  if f.name.endswith(".parquet") and not f.name.startswith(".")})
    return found


def unlisted(db: duckdb.DuckDBPyConnection, data_dir: Path) -> list[Path]:
    """Files on disk that the store does not list: an interrupted run's, or days retention took."""
    out = []
    for dataset in DATASETS:
        known = {r[0] for r in db.execute("SELECT file FROM stored_files WHERE dataset = ?", [dataset]).fetchall()}
        root = dataset_root(data_dir, dataset)
        out += [root / f for f in on_disk(data_dir, dataset) if f not in known]
    return out


def missing(db: duckdb.DuckDBPyConnection, data_dir: Path) -> list[Path]:
    """Listed files no longer on disk (deleted by hand); the next writer unlists them."""
    out = []
    for dataset in DATASETS:
        out += [p for p in listed(db, data_dir, dataset) if not p.exists()]
    return out


def day_of(folder: str) -> date | None:
    """The day of a partition folder name; None for ``date=undated`` (events without a time)."""
    try:
        return date.fromisoformat(folder[len(PARTITION):])
    except ValueError:
        return None

"""Where things live inside a data directory."""

from __future__ import annotations

from pathlib import Path

EVENTS = "events"
SENSITIVE = "sensitive"
CATALOG = "catalog.duckdb"
QUARANTINE = "quarantine"


def events_dir(data_dir: Path) -> Path:
    return data_dir / EVENTS


def catalog_path(data_dir: Path) -> Path:
    return data_dir / CATALOG


def quarantine_dir(data_dir: Path) -> Path:
    return data_dir / QUARANTINE


def sensitive_dir(data_dir: Path) -> Path:
    return data_dir / SENSITIVE

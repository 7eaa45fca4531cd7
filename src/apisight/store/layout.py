"""Where things live inside a data directory."""

from __future__ import annotations

from pathlib import Path

EVENTS = "events"
SENSITIVE = "sensitive"
CATALOG = "catalog.duckdb"
QUARANTINE = "quarantine"
DETECT = "detect"


def events_dir(data_dir: Path) -> Path:
    return data_dir / EVENTS


def catalog_path(data_dir: Path) -> Path:
    return data_dir / CATALOG


def quarantine_dir(data_dir: Path) -> Path:
    return data_dir / QUARANTINE


def sensitive_dir(data_dir: Path) -> Path:
    return data_dir / SENSITIVE


def detect_dir(data_dir: Path) -> Path:
    """Detection state: one folder per run that saved it; the catalog names the current one."""
    return data_dir / DETECT

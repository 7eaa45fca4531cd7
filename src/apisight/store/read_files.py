"""Input files already read whole: a run given one again skips it and says so.

A file is known by its identity (:meth:`apisight.sources.Source.identity`: size,
modification time and its first and last bytes), not by its name, so a renamed
rotation is recognised and a file that grew is read again (its known records are then
left out by :mod:`apisight.store.dedup`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

_DDL = """
CREATE TABLE IF NOT EXISTS read_files (
    identity VARCHAR PRIMARY KEY,
    file VARCHAR,
    bytes BIGINT,
    run_id VARCHAR,
    read_at TIMESTAMPTZ
)
"""


def already_read(db: duckdb.DuckDBPyConnection, identities: dict[str, str]) -> dict[str, dict[str, Any]]:
    """For each input name whose identity is known: when and by which run it was read."""
    db.execute(_DDL)
    if not identities:
        return {}
    rows = db.execute("SELECT identity, file, run_id, read_at FROM read_files WHERE identity IN "
                      "(SELECT unnest(?::VARCHAR[]))", [list(identities.values())]).fetchall()
    known = {r[0]: {"read_as": r[1], "run_id": r[2], "read_at": r[3]} for r in rows}
    return {name: known[identity] for name, identity in identities.items() if identity in known}


def remember(db: duckdb.DuckDBPyConnection, run_id: str, at: datetime, files: list[tuple[str, str, int]]) -> None:
    """Record ``(identity, name, bytes)`` of the files this run read whole."""
    db.execute(_DDL)
    if files:
        db.executemany("INSERT OR REPLACE INTO read_files VALUES (?, ?, ?, ?, ?)",
                       [(identity, name, size, run_id, at) for identity, name, size in files])

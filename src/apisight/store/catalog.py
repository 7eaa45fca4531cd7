"""The DuckDB catalog: the ``events`` view over Parquet, run history, and user SQL."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Self

import duckdb
import polars as pl

from apisight.errors import StoreError
from apisight.events import EVENT_SCHEMA, FINDING_SCHEMA
from apisight.store.events import has_events
from apisight.store.layout import catalog_path, events_dir, sensitive_dir

_RUNS_DDL = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    records BIGINT,
    malformed BIGINT,
    bytes BIGINT,
    summary JSON
);
CREATE TABLE IF NOT EXISTS run_files (
    run_id VARCHAR,
    file VARCHAR,
    format VARCHAR,
    records BIGINT,
    malformed BIGINT,
    bytes BIGINT
);
"""

_DUCK_TYPES = {
    pl.String: "VARCHAR",
    pl.Int16: "SMALLINT",
    pl.Int64: "BIGINT",
    pl.Float64: "DOUBLE",
}


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]


class Catalog:
    """One open connection to ``catalog.duckdb`` in a data directory."""

    def __init__(self, data_dir: Path, read_only: bool = False, wait_seconds: float = 0.0) -> None:
        """Open (creating it unless ``read_only``) the catalog of ``data_dir``.

        Read-only opens let queries run while an analysis holds the write lock. With
        ``wait_seconds``, a catalog another process holds (a query, another command) is
        tried again until then: an analysis reopens it between its stages.
        """
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                self._open(data_dir, read_only)
                return
            except StoreError as e:
                if "lock" not in str(e).lower() or time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)

    def _open(self, data_dir: Path, read_only: bool) -> None:
        self.data_dir = data_dir
        path = catalog_path(data_dir)
        if read_only and not path.exists():
            raise StoreError(
                f"no apisight data in {data_dir}: run `apisight analyze` or `apisight demo` first, or pass --data"
            )
        try:
            if not read_only:
                data_dir.mkdir(parents=True, exist_ok=True)
            self.db = duckdb.connect(str(path), read_only=read_only)
            if not read_only:
                self.db.execute(_RUNS_DDL)
        except duckdb.Error as e:
            raise StoreError(f"cannot open the catalog {path}: {e}") from e
        try:
            self._refresh_events_view()
        except duckdb.Error as e:
            self.db.close()
            raise StoreError(f"cannot read the stored events in {events_dir(data_dir)}: {e}") from e

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _refresh_events_view(self) -> None:
        """(Re)create the ``events`` and ``sensitive`` views over their Parquet files.

        Views are typed and empty while there are no files yet, so queries work at once.
        """
        for view, root, schema in (
            ("events", events_dir(self.data_dir), EVENT_SCHEMA),
            ("sensitive", sensitive_dir(self.data_dir), FINDING_SCHEMA),
        ):
            if has_events(self.data_dir, root):
                glob = str(root.resolve() / "*" / "*.parquet").replace("'", "''")
                sql = (
                    f"SELECT * FROM read_parquet('{glob}', hive_partitioning = true, "
                    "hive_types = {'date': DATE}, union_by_name = true)"
                )
            else:
                cols = ", ".join(f"CAST(NULL AS {_duck_type(t)}) AS {name}" for name, t in schema.items())
                sql = f"SELECT {cols}, CAST(NULL AS DATE) AS date WHERE false"
            self.db.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {sql}")

    def event_files(self) -> list[Path]:
        """Every stored event file, oldest day first."""
        root = events_dir(self.data_dir)
        return sorted(root.glob("*/*.parquet")) if root.is_dir() else []

    def record_run(
        self, run_id: str, started: datetime, finished: datetime, summary: dict[str, Any], files: list[dict[str, Any]]
    ) -> None:
        """Remember a finished run and its per-file counts."""
        self.db.execute(
            "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
            [run_id, started, finished, summary["records"], summary["malformed"]["total"],
             summary.get("bytes", 0), json.dumps(summary, default=str)],
        )
        for f in files:
            self.db.execute(
                "INSERT INTO run_files VALUES (?, ?, ?, ?, ?, ?)",
                [run_id, f["file"], f["format"], f["records"], f["malformed"], f["bytes"]],
            )
        self._refresh_events_view()

    def run_overview(self, files: list[Path]) -> dict[str, Any]:
        """Hosts, endpoints, clients and time span of the events in ``files``."""
        if not files:
            return {"hosts": 0, "endpoints": 0, "clients": 0, "first_event": None, "last_event": None, "top_hosts": []}
        paths = [str(p) for p in files]
        rows = self.db.execute(
            "SELECT count(DISTINCT host), count(DISTINCT (host, method, path)), count(DISTINCT client_ip), "
            "min(ts), max(ts) FROM read_parquet(?)",
            [paths],
        ).fetchall()
        row = rows[0] if rows else None
        top = self.db.execute(
            "SELECT host, count(*) AS n FROM read_parquet(?) GROUP BY host ORDER BY n DESC, host LIMIT 10",
            [paths],
        ).fetchall()
        if row is None:
            raise StoreError("the run overview query returned nothing")
        return {
            "hosts": row[0],
            "endpoints": row[1],
            "clients": row[2],
            "first_event": row[3],
            "last_event": row[4],
            "top_hosts": [{"host": h, "records": n} for h, n in top],
        }

    def query(self, sql: str) -> QueryResult:
        """Run user SQL; errors come back as :class:`StoreError` with DuckDB's explanation."""
        try:
            cursor = self.db.execute(sql)
            columns = [d[0] for d in cursor.description] if cursor.description else []
            return QueryResult(columns, cursor.fetchall() if columns else [])
        except duckdb.Error as e:
            first = str(e).strip().splitlines()[0]
            raise StoreError(f"query failed: {first} (tables: {', '.join(self.tables())})") from e

    def tables(self) -> list[str]:
        rows = self.db.execute(
            "SELECT DISTINCT table_name FROM information_schema.tables ORDER BY table_name"
        ).fetchall()
        return [r[0] for r in rows]


def _duck_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMPTZ"
    return _DUCK_TYPES.get(type(dtype), "VARCHAR")

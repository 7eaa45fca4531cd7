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
from apisight.store import manifest
from apisight.store.layout import catalog_path, events_dir

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
CREATE TABLE IF NOT EXISTS pointers (name VARCHAR PRIMARY KEY, value VARCHAR);
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
    pl.UInt64: "UBIGINT",
    pl.Float64: "DOUBLE",
}


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]


class Catalog:
    """One open connection to ``catalog.duckdb`` in a data directory."""

    def __init__(self, data_dir: Path, read_only: bool = False, wait_seconds: float = 0.0,
                 file: Path | None = None) -> None:
        """Open (creating it unless ``read_only``) the catalog of ``data_dir``.

        ``file`` opens another copy of it: the working copy a write transaction changes
        (:class:`~apisight.store.writer.Writer`) while readers go on reading the committed
        one. With ``wait_seconds``, a catalog another process holds is tried again until then.
        """
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                self._open(data_dir, read_only, file or catalog_path(data_dir))
                return
            except StoreError as e:
                if "lock" not in str(e).lower() or time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)

    def _open(self, data_dir: Path, read_only: bool, path: Path) -> None:
        self.data_dir = data_dir
        if read_only and not path.exists():
            raise StoreError(
                f"no apisight data in {data_dir}: run `apisight analyze` or `apisight demo` first, or pass --data"
            )
        try:
            if not read_only:
                data_dir.mkdir(parents=True, exist_ok=True)
            # no progress bar: DuckDB draws it on stdout for long queries, into --json output
            self.db = duckdb.connect(str(path), read_only=read_only)
            self.db.execute("SET enable_progress_bar = false")
            if not read_only:
                self.db.execute(_RUNS_DDL)
                manifest.ensure(self.db, data_dir)
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
        """(Re)create the ``events`` and ``sensitive`` views over their stored Parquet files.

        Views are typed and empty while there are no files yet, so queries work at once.
        """
        for view, schema in (("events", EVENT_SCHEMA), ("sensitive", FINDING_SCHEMA)):
            files = self.stored_files(view)
            if files:
                listing = ", ".join("'" + str(f.resolve()).replace("'", "''") + "'" for f in files)
                sql = (
                    f"SELECT * FROM read_parquet([{listing}], hive_partitioning = true, "
                    "hive_types = {'date': DATE}, union_by_name = true)"
                )
            else:
                cols = ", ".join(f"CAST(NULL AS {_duck_type(t)}) AS {name}" for name, t in schema.items())
                sql = f"SELECT {cols}, CAST(NULL AS DATE) AS date WHERE false"
            self.db.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {sql}")

    def event_files(self) -> list[Path]:
        """Every stored event file, oldest day first."""
        return self.stored_files("events")

    def stored_files(self, dataset: str) -> list[Path]:
        """The files of ``dataset`` (events, sensitive) this catalog lists, oldest day first.

        A catalog older than the list (opened read-only) reads what lies on disk, as it did.
        """
        if manifest.has_list(self.db):  # a file deleted by hand is left out (the next writer unlists it)
            return [p for p in manifest.listed(self.db, self.data_dir, dataset) if p.exists()]
        root = manifest.dataset_root(self.data_dir, dataset)
        return sorted(root / f for f in manifest.on_disk(self.data_dir, dataset))

    def add_files(self, dataset: str, files: list[Path], run_id: str) -> None:
        """List ``files`` as stored; they join the views at once (in this connection)."""
        manifest.add(self.db, self.data_dir, dataset, files, run_id)
        self._refresh_events_view()

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

    def pointer(self, name: str) -> str | None:
        """A named value of the store's own (the current detection state's folder, say)."""
        try:
            rows = self.db.execute("SELECT value FROM pointers WHERE name = ?", [name]).fetchall()
        except duckdb.CatalogException:  # a catalog from before pointers existed, opened read-only
            return None
        return rows[0][0] if rows else None

    def set_pointer(self, name: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO pointers VALUES (?, ?)", [name, value])

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

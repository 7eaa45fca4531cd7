"""Mergeable partial aggregates behind the inventory, so an update costs what its run adds.

The traffic facts of each endpoint are kept as partial aggregates that add up, at three
grains. Each grain has four tables: ``<grain>`` (count, first/last seen, clients),
``<grain>_mix`` (requests per status, auth scheme, exposure and content types),
``<grain>_latency`` (a latency histogram) and ``<grain>_params`` (query parameters).

=============================  ===============================  ============================
grain                          one row per                      kept up to date by
=============================  ===============================  ============================
``inventory_path_days``        raw (host, method, path), day    appending each run's rows
                                                                (compacted now and then)
``inventory_endpoint_days``    (host, method, template), day    merging each run's rows
``inventory_endpoint_totals``  (host, method, template)         merging each run's rows;
                                                                rebuilt from the day rows
                                                                of endpoints that lost days
=============================  ===============================  ============================

``key`` is DuckDB's 64-bit ``hash(host, method, path)`` (the template in place of the path
for endpoints; ``host`` is '' when absent): two paths would have to collide in 64 bits to
be counted together. ``day`` is the date of the event partition, NULL for undated events.
Raw-path rows survive remapping: when the templater generalises a literal or the specs
change, the affected endpoints are rebuilt from them. Day rows make retention exact: the
days whose files are gone are deleted and the totals of their endpoints rebuilt from the
days left.

How each fact merges:

- ``count``, the ``n`` of mix and latency rows, a parameter's ``seen`` and per-type counts
  (integer, number, boolean, uuid, date): sums. ``first_seen``/``last_seen``: min/max. A
  parameter's ``min_shape`` (the smallest shape of its values, :data:`~apisight.store.inventory.SHAPE`:
  no value is kept, only digits-as-9 and letters-as-x): min.
- latency: a log-scale histogram (:func:`latency_bucket`); percentiles read from it are
  within :data:`LATENCY_ALPHA` (1%) of the exact ones (see ``inventory_totals``).
- ``clients`` and a parameter's ``value_hashes``: a bottom-k sketch, the :data:`SKETCH_K`
  smallest distinct 64-bit hashes; merged by union, keeping the k smallest. The distinct
  count is exact below k; above it is estimated with a relative standard error of about
  1 / sqrt(k - 2) (3.1% for k = 1024).

``inventory_files`` lists the event files already added (relative to the events folder).
Each update adds the stored files not listed (the run's own; on the first update of a
catalog made before partials existed, every stored file: one full aggregation) and drops
the days whose files the catalog no longer lists (retention).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import orjson
import polars as pl

from apisight.store import manifest
from apisight.store.inventory import SHAPE

PATH_DAYS = "inventory_path_days"
ENDPOINT_DAYS = "inventory_endpoint_days"
ENDPOINT_TOTALS = "inventory_endpoint_totals"
STATE = "inventory_partials"
VERSION = 2
#: Size of the bottom-k sketches of distinct clients and parameter values.
SKETCH_K = 1024
#: Relative error bound of latency percentiles; buckets grow by GAMMA = (1 + a) / (1 - a).
LATENCY_ALPHA = 0.01
GAMMA = (1 + LATENCY_ALPHA) / (1 - LATENCY_ALPHA)
#: The bucket of a latency of 0; positive ones are above it (i >= -37,000 for any double),
#: negative ones (a mis-mapped field) below, mirrored around NEGATIVE_BUCKETS.
ZERO_BUCKET = -1_000_000
NEGATIVE_BUCKETS = -2_000_000
#: Compact the raw-path rows when they reach this many times their number after the last compaction.
COMPACT_FACTOR = 3
COMPACT_MIN_ROWS = 100_000

# per part: columns, the extra grouping columns, and how rows of the same group merge
_COLUMNS = {
    "": "count BIGINT, first_seen TIMESTAMPTZ, last_seen TIMESTAMPTZ, clients UBIGINT[]",
    "_mix": "status SMALLINT, auth_scheme VARCHAR, exposure VARCHAR, request_content_type VARCHAR, "
            "response_content_type VARCHAR, n BIGINT",
    "_latency": "bucket INTEGER, n BIGINT",
    "_params": "name VARCHAR, seen BIGINT, integers BIGINT, numbers BIGINT, booleans BIGINT, uuids BIGINT, "
               "dates BIGINT, min_shape VARCHAR, value_hashes UBIGINT[]",
}
PARTS = tuple(_COLUMNS)
_GROUP = {
    "": "",
    "_mix": ", status, auth_scheme, exposure, request_content_type, response_content_type",
    "_latency": ", bucket",
    "_params": ", name",
}


def bottom_k(hashes: str) -> str:
    """SQL keeping the SKETCH_K smallest of a list of distinct hashes (sorted only when too long)."""
    return f"(CASE WHEN len({hashes}) > {SKETCH_K} THEN list_slice(list_sort({hashes}), 1, {SKETCH_K}) ELSE {hashes} END)"


def _sketch(column: str) -> str:
    return bottom_k(f"list_distinct(flatten(list({column})))")


_MERGED = {
    "": "sum(count)::BIGINT AS count, min(first_seen) AS first_seen, max(last_seen) AS last_seen, "
        f"{_sketch('clients')} AS clients",
    "_mix": "sum(n)::BIGINT AS n",
    "_latency": "sum(n)::BIGINT AS n",
    "_params": "sum(seen)::BIGINT AS seen, sum(integers)::BIGINT AS integers, sum(numbers)::BIGINT AS numbers, "
               "sum(booleans)::BIGINT AS booleans, sum(uuids)::BIGINT AS uuids, sum(dates)::BIGINT AS dates, "
               f"min(min_shape) AS min_shape, {_sketch('value_hashes')} AS value_hashes",
}


def latency_bucket(column: str) -> str:
    """SQL for the histogram bucket of a latency x: i with GAMMA^(i-1) < x <= GAMMA^i; buckets
    sort as their latencies do."""
    index = f"ceil(ln(abs({column})) / ln({GAMMA!r}))::INTEGER"
    return (f"CASE WHEN {column} > 0 THEN {index} WHEN {column} < 0 THEN {NEGATIVE_BUCKETS} - {index} "
            f"ELSE {ZERO_BUCKET} END")


@dataclass(frozen=True)
class Pending:
    """What an update has to do: stored files not added yet, days whose files are gone."""

    new_files: list[Path]
    gone_days: list[date | None]
    first: bool  # nothing added before: a fresh catalog, or one made before partials existed


def ensure_tables(db: duckdb.DuckDBPyConnection) -> None:
    """Create the tables; empty them if they were filled with other settings or another hash."""
    for table in (PATH_DAYS, ENDPOINT_DAYS, ENDPOINT_TOTALS):
        day = "" if table == ENDPOINT_TOTALS else "day DATE, "
        for part, columns in _COLUMNS.items():
            db.execute(f"CREATE TABLE IF NOT EXISTS {table}{part} (key UBIGINT, {day}{columns})")
    db.execute("CREATE TABLE IF NOT EXISTS inventory_files (file VARCHAR PRIMARY KEY, day DATE)")
    db.execute("CREATE TABLE IF NOT EXISTS discovery_state (name VARCHAR PRIMARY KEY, state JSON)")
    identity = _identity(db)
    state = _state(db)
    if {k: state.get(k) for k in identity} != identity:  # the next update aggregates everything again
        with transaction(db):
            for table in (PATH_DAYS, ENDPOINT_DAYS, ENDPOINT_TOTALS):
                for part in PARTS:
                    db.execute(f"DELETE FROM {table}{part}")
            db.execute("DELETE FROM inventory_files")
            _save_state(db, identity)


def _identity(db: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """What stored partials depend on, down to DuckDB's hash function."""
    probe = db.execute("SELECT hash('api.example', 'GET', '/v1/accounts/42')").fetchall()[0][0]
    return {"version": VERSION, "sketch_k": SKETCH_K, "latency_alpha": LATENCY_ALPHA, "hash_probe": str(probe)}


def pending(db: duckdb.DuckDBPyConnection, events_root: Path) -> Pending:
    """Compare the stored event files (those the catalog lists) with those already added."""
    added: dict[str, date | None] = dict(db.execute("SELECT file, day FROM inventory_files").fetchall())
    stored = manifest.listed_days(db)
    gone_days = sorted({day for f, day in added.items() if f not in stored}, key=lambda d: (d is not None, d))
    kept = {f for f, day in added.items() if day not in gone_days}  # a day that lost a file is added again
    new = sorted(f for f in stored if f not in kept)
    return Pending([events_root / f for f in new], gone_days, first=not added)


@contextmanager
def transaction(db: duckdb.DuckDBPyConnection) -> Iterator[None]:
    db.execute("BEGIN")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


# -- new events ----------------------------------------------------------------------------

_SOURCE = ("(SELECT *, hash(coalesce(host, ''), method, path) AS key, TRY_CAST(date AS DATE) AS day "
           "FROM read_parquet($files, hive_partitioning = true, hive_types_autocast = false, union_by_name = true) "
           "WHERE method IS NOT NULL AND path IS NOT NULL)")
# one pass over the events each: a pass costs less than the hashing of wider groups
_STAGE = {
    "_run_mix": f"""
        SELECT key, day, status, auth_scheme, coalesce(client_zone, 'unknown') AS exposure,
               split_part(request_content_type, ';', 1) AS request_content_type,
               split_part(response_content_type, ';', 1) AS response_content_type,
               count(*) AS n, min(ts) AS first_seen, max(ts) AS last_seen
        FROM {_SOURCE}
        GROUP BY key, day, status, auth_scheme, exposure, request_content_type, response_content_type""",
    "_run_clients": f"""
        SELECT key, day, {bottom_k("list(DISTINCT hash(client_ip))")} AS clients
        FROM {_SOURCE} WHERE client_ip IS NOT NULL GROUP BY key, day""",
    "_run_latency": f"""
        SELECT key, day, {latency_bucket('latency_ms')} AS bucket, count(*) AS n
        FROM {_SOURCE} WHERE latency_ms IS NOT NULL GROUP BY ALL""",
    # query strings and values repeat: each distinct string per path and day is split once,
    # each distinct value typed and hashed once
    "_run_params": f"""
        WITH qs AS (SELECT key, day, query, count(*) AS n FROM {_SOURCE} WHERE query IS NOT NULL AND query <> ''
                    GROUP BY ALL),
        kv AS (SELECT key, day, n, unnest(string_split(query, '&')) AS pair FROM qs),
        p AS (SELECT key, day, split_part(pair, '=', 1) AS name, substr(pair, length(split_part(pair, '=', 1)) + 2)
                     AS value, sum(n) AS n
              FROM kv WHERE pair <> '' GROUP BY ALL),
        v AS (SELECT value, regexp_full_match(value, '-?[0-9]+') AS is_integer,
                     regexp_full_match(value, '-?[0-9]*\\.[0-9]+') AS is_number,
                     lower(value) IN ('true', 'false') AS is_boolean,
                     regexp_full_match(value, '[0-9a-fA-F]{{8}}-[0-9a-fA-F-]{{27}}') AS is_uuid,
                     regexp_full_match(value, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}.*') AS is_date, hash(value) AS h,
                     {SHAPE.format(value='value')} AS shape
              FROM (SELECT DISTINCT value FROM p))
        SELECT key, day, name, sum(n)::BIGINT AS seen,
               coalesce(sum(n) FILTER (WHERE is_integer), 0)::BIGINT AS integers,
               coalesce(sum(n) FILTER (WHERE is_number), 0)::BIGINT AS numbers,
               coalesce(sum(n) FILTER (WHERE is_boolean), 0)::BIGINT AS booleans,
               coalesce(sum(n) FILTER (WHERE is_uuid), 0)::BIGINT AS uuids,
               coalesce(sum(n) FILTER (WHERE is_date), 0)::BIGINT AS dates,
               min(v.shape) AS min_shape, {bottom_k("list(h)")} AS value_hashes
        FROM p JOIN v ON p.value = v.value GROUP BY key, day, name""",
}
_STAGE_ROWS = {
    "": """
        SELECT m.key, m.day, sum(m.n)::BIGINT AS count, min(m.first_seen) AS first_seen,
               max(m.last_seen) AS last_seen, coalesce(any_value(c.clients), []::UBIGINT[]) AS clients
        FROM _run_mix m LEFT JOIN _run_clients c ON m.key = c.key AND m.day IS NOT DISTINCT FROM c.day
        GROUP BY m.key, m.day""",
    "_mix": "SELECT * EXCLUDE (first_seen, last_seen) FROM _run_mix",
    "_latency": "SELECT * FROM _run_latency",
    "_params": "SELECT * FROM _run_params",
}


def stage(db: duckdb.DuckDBPyConnection, files: list[Path]) -> None:
    """Aggregate the events of ``files`` per raw path and day into temporary ``_stage*`` tables,
    and their request counts per raw path into ``_run_paths`` (key, count)."""
    params = {"files": [str(f) for f in files]}
    for name, sql in _STAGE.items():
        db.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}", params)
    for part, sql in _STAGE_ROWS.items():  # a view where it is a mere projection
        kind = "TABLE" if part == "" else "VIEW"
        db.execute(f"CREATE OR REPLACE TEMP {kind} _stage{part} AS {sql}")
    db.execute("CREATE OR REPLACE TEMP TABLE _run_paths AS SELECT key, sum(n)::BIGINT AS count FROM _run_mix GROUP BY key")


def unmapped_paths(db: duckdb.DuckDBPyConnection, files: list[Path]) -> pl.DataFrame:
    """The staged (host, method, path) that ``path_templates`` does not have yet, with request
    counts. Their names are read from ``files`` again, for those paths only: cheaper than
    carrying every path's name through the aggregation."""
    db.execute("CREATE OR REPLACE TEMP TABLE _unmapped AS SELECT * FROM _run_paths r "
               "ANTI JOIN path_templates t ON hash(t.host, t.method, t.path) = r.key")
    if not db.execute("SELECT count(*) FROM _unmapped").fetchall()[0][0]:
        return pl.DataFrame(schema={"host": pl.String, "method": pl.String, "path": pl.String, "count": pl.Int64})
    return db.sql(
        "SELECT any_value(coalesce(host, '')) AS host, any_value(method) AS method, any_value(path) AS path, "
        f"any_value(u.count) AS count FROM {_SOURCE} s JOIN _unmapped u ON s.key = u.key GROUP BY s.key",
        params={"files": [str(f) for f in files]},
    ).pl()


def add_staged(db: duckdb.DuckDBPyConnection, todo: Pending, events_root: Path) -> None:
    """Append the staged rows per raw path, merge them into the endpoint rows through
    ``path_templates``, and list their files as added. Call inside :func:`transaction`."""
    for part in PARTS:
        db.execute(f"INSERT INTO {PATH_DAYS}{part} BY NAME SELECT * FROM _stage{part}")
    db.execute(
        "CREATE OR REPLACE TEMP TABLE _map AS SELECT DISTINCT hash(host, method, path) AS path_key, "
        "hash(host, method, template) AS endpoint_key FROM path_templates t "
        "SEMI JOIN _run_paths s ON hash(t.host, t.method, t.path) = s.key"
    )
    for part in PARTS:  # once per endpoint and day, then into both endpoint grains
        group = "key, day" + _GROUP[part]
        db.execute(
            f"CREATE OR REPLACE TEMP TABLE _added{part} AS SELECT {group}, {_MERGED[part]} FROM "
            f"(SELECT m.endpoint_key AS key, s.* EXCLUDE (key) FROM _stage{part} s JOIN _map m ON s.key = m.path_key) "
            f"GROUP BY {group}"
        )
    _merge(db, ENDPOINT_DAYS, lambda part: f"SELECT * FROM _added{part}")
    _merge(db, ENDPOINT_TOTALS, lambda part: f"SELECT * EXCLUDE (day) FROM _added{part}")
    rows = [(f.relative_to(events_root).as_posix(), manifest.day_of(f.parent.name)) for f in todo.new_files]
    db.executemany("INSERT OR REPLACE INTO inventory_files VALUES (?, ?)", rows)
    _note_appended(db, todo.first)


def _note_appended(db: duckdb.DuckDBPyConnection, first: bool) -> None:
    """Compact the raw-path rows of the days runs appended to once they have grown enough."""
    state = _state(db)
    rows: int = db.execute(f"SELECT count(*) FROM {PATH_DAYS}").fetchall()[0][0]
    dirty: list[str | None] = []
    if not first:  # else one aggregation of everything: already one row per path and day
        staged = {d.isoformat() if d else None for (d,) in db.execute("SELECT DISTINCT day FROM _stage").fetchall()}
        dirty = sorted(set(_strings(state.get("dirty_days"))) | staged, key=lambda d: d or "")
        compacted = state.get("compacted_rows")
        if rows >= max(COMPACT_FACTOR * (compacted if isinstance(compacted, int) else 0), COMPACT_MIN_ROWS):
            _compact(db, dirty)
            rows, dirty = db.execute(f"SELECT count(*) FROM {PATH_DAYS}").fetchall()[0][0], []
        else:
            rows = compacted if isinstance(compacted, int) else rows
    _save_state(db, {**state, "compacted_rows": rows, "dirty_days": dirty})


def _strings(value: object) -> list[str | None]:
    return [v if isinstance(v, str) else None for v in value] if isinstance(value, list) else []


def _compact(db: duckdb.DuckDBPyConnection, days: list[str | None]) -> None:
    """Merge the raw-path rows of ``days`` that several runs appended into one per path and day."""
    db.execute("CREATE OR REPLACE TEMP TABLE _dirty (day DATE)")
    db.executemany("INSERT INTO _dirty VALUES (?::DATE)", [(d,) for d in days])
    for part in PARTS:
        group = "key, day" + _GROUP[part]
        db.execute(f"CREATE OR REPLACE TEMP TABLE _merged AS SELECT {group}, {_MERGED[part]} FROM {PATH_DAYS}{part} t "
                   f"SEMI JOIN _dirty d ON t.day IS NOT DISTINCT FROM d.day GROUP BY {group}")
        db.execute(f"DELETE FROM {PATH_DAYS}{part} t USING _dirty d WHERE t.day IS NOT DISTINCT FROM d.day")
        db.execute(f"INSERT INTO {PATH_DAYS}{part} BY NAME SELECT * FROM _merged")


def drop_days(db: duckdb.DuckDBPyConnection, days: list[date | None]) -> None:
    """Forget the events of ``days`` (their files are gone): their rows go, and the totals
    of the endpoints they had are rebuilt from the days left. Call inside :func:`transaction`."""
    if not days:
        return
    db.execute("CREATE OR REPLACE TEMP TABLE _gone (day DATE)")
    db.executemany("INSERT INTO _gone VALUES (?)", [(d,) for d in days])
    gone = "t.day IS NOT DISTINCT FROM g.day"
    db.execute(f"CREATE OR REPLACE TEMP TABLE _affected AS SELECT DISTINCT key FROM {ENDPOINT_DAYS} t "
               f"SEMI JOIN _gone g ON {gone}")
    for table in (PATH_DAYS, ENDPOINT_DAYS):
        for part in PARTS:
            db.execute(f"DELETE FROM {table}{part} t USING _gone g WHERE {gone}")
    db.execute(f"DELETE FROM inventory_files t USING _gone g WHERE {gone}")
    _rebuild_totals(db)


def remap(db: duckdb.DuckDBPyConnection, endpoints: list[tuple[str, str, str]] | None) -> None:
    """Rebuild the rows of ``endpoints`` (host, method, template; None: all) from the raw-path
    rows, after paths moved between templates. Call inside :func:`transaction`."""
    db.execute("CREATE OR REPLACE TEMP TABLE _affected (key UBIGINT)")
    if endpoints is None:
        db.execute(f"INSERT INTO _affected SELECT key FROM {ENDPOINT_TOTALS} "
                   "UNION SELECT hash(host, method, template) FROM path_templates")
    else:
        db.executemany("INSERT INTO _affected SELECT hash(?, ?, ?)", endpoints)
    db.execute(
        "CREATE OR REPLACE TEMP TABLE _map AS SELECT DISTINCT hash(host, method, path) AS path_key, "
        "hash(host, method, template) AS endpoint_key FROM path_templates "
        "WHERE hash(host, method, template) IN (SELECT key FROM _affected)"
    )
    for part in PARTS:
        db.execute(f"DELETE FROM {ENDPOINT_DAYS}{part} WHERE key IN (SELECT key FROM _affected)")
    _merge(db, ENDPOINT_DAYS, lambda part: f"SELECT m.endpoint_key AS key, s.* EXCLUDE (key) FROM {PATH_DAYS}{part} s "
                                           "JOIN _map m ON s.key = m.path_key")
    _rebuild_totals(db)


def _rebuild_totals(db: duckdb.DuckDBPyConnection) -> None:
    """Totals of the endpoints in ``_affected``, from their day rows."""
    for part in PARTS:
        db.execute(f"DELETE FROM {ENDPOINT_TOTALS}{part} WHERE key IN (SELECT key FROM _affected)")
    _merge(db, ENDPOINT_TOTALS, lambda part: f"SELECT * EXCLUDE (day) FROM {ENDPOINT_DAYS}{part} "
                                             "WHERE key IN (SELECT key FROM _affected)")


def _merge(db: duckdb.DuckDBPyConnection, table: str, source: Callable[[str], str]) -> None:
    """Merge the rows of ``source(part)`` into ``table``: with the rows stored for the same
    key (and day), added together, they replace those."""
    keys = "key" if table == ENDPOINT_TOTALS else "key, day"
    on = "t.key = d.key" if table == ENDPOINT_TOTALS else "t.key = d.key AND t.day IS NOT DISTINCT FROM d.day"
    db.execute(f"CREATE OR REPLACE TEMP TABLE _touched AS SELECT DISTINCT {keys} FROM ({source('')})")
    for part in PARTS:
        group = keys + _GROUP[part]
        db.execute(
            f"CREATE OR REPLACE TEMP TABLE _merged AS SELECT {group}, {_MERGED[part]} FROM ("
            f"SELECT t.* FROM {table}{part} t SEMI JOIN _touched d ON {on} "
            f"UNION ALL BY NAME {source(part)}) GROUP BY {group}"
        )
        db.execute(f"DELETE FROM {table}{part} t USING _touched d WHERE {on}")
        db.execute(f"INSERT INTO {table}{part} BY NAME SELECT * FROM _merged")


# -- state ----------------------------------------------------------------------------------


def _state(db: duckdb.DuckDBPyConnection) -> dict[str, object]:
    rows = db.execute("SELECT state FROM discovery_state WHERE name = ?", [STATE]).fetchall()
    return dict(orjson.loads(rows[0][0])) if rows else {}


def _save_state(db: duckdb.DuckDBPyConnection, state: dict[str, object]) -> None:
    db.execute("INSERT OR REPLACE INTO discovery_state VALUES (?, ?)", [STATE, orjson.dumps(state).decode()])


def _mapping_fingerprint(db: duckdb.DuckDBPyConnection) -> str:
    n, x = db.execute("SELECT count(*), bit_xor(hash(host, method, path, template)) FROM path_templates").fetchall()[0]
    return f"{n}:{x}"


def mapping_changed(db: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``path_templates`` changed since the partials were last brought in line with it
    (an update stopped between mapping paths and adding their events)."""
    return _state(db).get("mapping") != _mapping_fingerprint(db)


def save_mapping(db: duckdb.DuckDBPyConnection) -> None:
    """Record that the partials follow ``path_templates`` as it is now."""
    _save_state(db, {**_state(db), "mapping": _mapping_fingerprint(db)})


#: The temporary tables and views an update makes (the ``{part}`` ones by prefix).
_SCRATCH = ("_run_", "_stage", "_added", "_unmapped", "_map", "_dirty", "_merged", "_gone", "_affected", "_touched")


def release(db: duckdb.DuckDBPyConnection) -> None:
    """Drop the update's temporary tables: a big day's staged aggregates hold 100+ MB that
    the stages after discovery (detection, posture) should have."""
    rows = db.execute(
        "SELECT 'VIEW', view_name FROM duckdb_views() WHERE temporary AND NOT internal "
        "UNION ALL SELECT 'TABLE', table_name FROM duckdb_tables() WHERE temporary"
    ).fetchall()
    for kind, name in rows:
        if name.startswith(_SCRATCH):
            db.execute(f'DROP {kind} IF EXISTS temp.main."{name}"')

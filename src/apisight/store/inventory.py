"""Inventory tables in the catalog and the named queries that fill them.

``path_templates`` maps every distinct (host, method, raw path) ever seen to its
endpoint template; ``endpoints`` holds one row per (host, method, template) with what
is known about it; ``inventory_changes`` is the history of what changed and when.
:func:`endpoint_facts` and :func:`query_params` aggregate every stored event joined with
a mapping: ``apisight drift`` uses them with a spec's own mapping, and they are what the
incremental aggregates (``inventory_partials``) must equal.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

INVENTORY_DDL = """
CREATE TABLE IF NOT EXISTS path_templates (
    host VARCHAR, method VARCHAR, path VARCHAR,
    template VARCHAR, origin VARCHAR, spec_file VARCHAR, operation_id VARCHAR, count BIGINT,
    PRIMARY KEY (host, method, path)
);
CREATE TABLE IF NOT EXISTS discovery_state (name VARCHAR PRIMARY KEY, state JSON);
CREATE TABLE IF NOT EXISTS endpoints (
    host VARCHAR, method VARCHAR, path VARCHAR,
    spec_status VARCHAR, spec_file VARCHAR, operation_id VARCHAR, deprecated BOOLEAN,
    owner VARCHAR, tags JSON, api_version VARCHAR,
    count BIGINT, first_seen TIMESTAMPTZ, last_seen TIMESTAMPTZ,
    status_codes JSON, latency_p50 DOUBLE, latency_p95 DOUBLE, latency_p99 DOUBLE,
    clients BIGINT, auth JSON, exposure JSON, params JSON,
    request_content_types JSON, response_content_types JSON,
    request_schema JSON, response_schema JSON, drift JSON
);
CREATE TABLE IF NOT EXISTS inventory_changes (
    ts TIMESTAMPTZ, run_id VARCHAR, host VARCHAR, method VARCHAR, path VARCHAR,
    change VARCHAR, detail VARCHAR
);
"""

#: A query value's shape, the only form of it the inventory keeps: digits as 9, letters as x,
#: the first 40 characters (``ann@example.com`` -> ``xxx@xxxxxxx.xxx``).
SHAPE = "regexp_replace(regexp_replace(left({value}, 40), '[0-9]', '9', 'g'), '[A-Za-z]', 'x', 'g')"

_MAPPED = """
    SELECT t.template, t.origin, t.spec_file, t.operation_id, e.*
    FROM events e JOIN {mapping} t ON coalesce(e.host, '') = t.host AND e.method = t.method AND e.path = t.path
"""


def ensure_tables(db: duckdb.DuckDBPyConnection) -> None:
    db.execute(INVENTORY_DDL)


def distinct_paths(db: duckdb.DuckDBPyConnection, files: list[Path]) -> pl.DataFrame:
    """Distinct (host, method, path) with request counts in the given event files."""
    schema = {"host": pl.String, "method": pl.String, "path": pl.String, "count": pl.Int64}
    if not files:
        return pl.DataFrame(schema=schema)
    frame = _frame(db.sql(
        "SELECT coalesce(host, '') AS host, method, path, count(*) AS count FROM read_parquet(?) "
        "WHERE method IS NOT NULL AND path IS NOT NULL GROUP BY ALL",
        params=[[str(f) for f in files]],
    ))
    return frame.cast(schema)  # type: ignore[arg-type]


def known_paths(db: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every (host, method, path) mapped so far, with its request count."""
    return _frame(db.sql("SELECT host, method, path, count FROM path_templates"))


def replace_path_templates(db: duckdb.DuckDBPyConnection, mapping: pl.DataFrame) -> None:
    """Replace the whole mapping (host, method, path, template, origin, spec_file, operation_id, count)."""
    rows = mapping.select("host", "method", "path", "template", "origin", "spec_file", "operation_id", "count")
    db.register("_mapping", rows)
    db.execute("BEGIN")
    db.execute("DELETE FROM path_templates")
    db.execute("INSERT INTO path_templates SELECT * FROM _mapping")
    db.execute("COMMIT")
    db.unregister("_mapping")


def add_path_templates(db: duckdb.DuckDBPyConnection, mapping: pl.DataFrame) -> None:
    """Insert mapping rows for paths not seen before."""
    if mapping.height == 0:
        return
    rows = mapping.select("host", "method", "path", "template", "origin", "spec_file", "operation_id", "count")
    db.register("_new_paths", rows)
    db.execute("INSERT OR REPLACE INTO path_templates SELECT * FROM _new_paths")
    db.unregister("_new_paths")


def add_path_counts(db: duckdb.DuckDBPyConnection, seen: pl.DataFrame) -> None:
    """Add this run's request counts (host, method, path, count) to known paths."""
    if seen.height == 0:
        return
    db.register("_seen", seen.select("host", "method", "path", "count"))
    db.execute(
        "UPDATE path_templates t SET count = t.count + s.count FROM _seen s "
        "WHERE t.host = s.host AND t.method = s.method AND t.path = s.path"
    )
    db.unregister("_seen")


def add_path_counts_by_key(db: duckdb.DuckDBPyConnection, counts: str) -> None:
    """Add request counts from the table ``counts`` (key = hash(host, method, path), count) to known paths."""
    db.execute(
        f"UPDATE path_templates t SET count = t.count + s.count FROM {counts} s "
        "WHERE hash(t.host, t.method, t.path) = s.key"
    )


def retemplate(db: duckdb.DuckDBPyConnection, host: str, method: str, old: str, new: str) -> None:
    """Move learned paths from a template that has been generalised to its successor."""
    db.execute(
        "UPDATE path_templates SET template = ? WHERE host = ? AND method = ? AND template = ? AND origin = 'traffic'",
        [new, host, method, old],
    )


def mapped_templates(db: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Distinct (host, method, template as path) currently in the mapping."""
    return _frame(db.sql("SELECT DISTINCT host, method, template AS path FROM path_templates"))


def load_state(db: duckdb.DuckDBPyConnection, name: str) -> str | None:
    rows = db.execute("SELECT state FROM discovery_state WHERE name = ?", [name]).fetchall()
    return str(rows[0][0]) if rows else None


def save_state(db: duckdb.DuckDBPyConnection, name: str, state_json: str) -> None:
    db.execute("INSERT OR REPLACE INTO discovery_state VALUES (?, ?)", [name, state_json])


def endpoint_facts(db: duckdb.DuckDBPyConnection, mapping: str = "path_templates") -> pl.DataFrame:
    """Traffic facts per (host, method, template) over every stored event.

    ``mapping`` names the table or registered frame that maps raw paths to templates.
    """
    return _frame(db.sql(
        f"""
        WITH e AS ({_MAPPED.format(mapping=mapping)})
        SELECT coalesce(host, '') AS host, method, template AS path,
               any_value(origin) AS origin, any_value(spec_file) AS spec_file,
               any_value(operation_id) AS operation_id,
               count(*) AS count, min(ts) AS first_seen, max(ts) AS last_seen,
               to_json(histogram(status)) AS status_codes,
               quantile_cont(latency_ms, 0.5) AS latency_p50,
               quantile_cont(latency_ms, 0.95) AS latency_p95,
               quantile_cont(latency_ms, 0.99) AS latency_p99,
               count(DISTINCT client_ip) AS clients,
               to_json(histogram(auth_scheme)) AS auth,
               to_json(histogram(coalesce(client_zone, 'unknown'))) AS exposure,
               to_json(histogram(split_part(request_content_type, ';', 1))) AS request_content_types,
               to_json(histogram(split_part(response_content_type, ';', 1))) AS response_content_types
        FROM e GROUP BY coalesce(host, ''), method, template
        """
    ))


def query_params(db: duckdb.DuckDBPyConnection, mapping: str = "path_templates") -> pl.DataFrame:
    """Query parameters per endpoint: name, occurrences, distinct values, type and a masked shape."""
    return _frame(db.sql(
        f"""
        WITH e AS ({_MAPPED.format(mapping=mapping)}),
        kv AS (
            SELECT coalesce(host, '') AS host, method, template, unnest(string_split(query, '&')) AS pair
            FROM e WHERE query IS NOT NULL AND query <> ''
        ),
        p AS (
            SELECT host, method, template, split_part(pair, '=', 1) AS name,
                   substr(pair, length(split_part(pair, '=', 1)) + 2) AS value
            FROM kv WHERE pair <> ''
        )
        SELECT host, method, template AS path, name, count(*) AS seen,
               count(DISTINCT value) AS distinct_values,
               CASE
                 WHEN bool_and(regexp_full_match(value, '-?[0-9]+')) THEN 'integer'
                 WHEN bool_and(regexp_full_match(value, '-?[0-9]*\\.[0-9]+')) THEN 'number'
                 WHEN bool_and(lower(value) IN ('true', 'false')) THEN 'boolean'
                 WHEN bool_and(regexp_full_match(value, '[0-9a-fA-F]{{8}}-[0-9a-fA-F-]{{27}}')) THEN 'uuid'
                 WHEN bool_and(regexp_full_match(value, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}.*')) THEN 'date'
                 ELSE 'string'
               END AS type,
               min({SHAPE.format(value='value')}) AS shape
        FROM p GROUP BY host, method, template, name
        """
    ))


def sample_bodies(
    db: duckdb.DuckDBPyConnection, files: list[Path] | None, per_endpoint: int, mapping: str = "path_templates"
) -> pl.DataFrame:
    """Up to ``per_endpoint`` JSON bodies per endpoint, from ``files`` or (None) all stored events:
    the oldest half and the newest half, so a field that a release adds late in the range is seen.

    Response bodies are taken from successful (< 300) responses only, so error payloads do
    not blur the schema of what the endpoint returns; events answered with an error (their
    request bodies) fill up only what the successes leave.
    """
    if files is not None and not files:
        return pl.DataFrame()
    source = "read_parquet($files)" if files is not None else "events"
    read = {"files": [str(f) for f in files]} if files is not None else {}
    params: dict[str, object] = {"oldest": per_endpoint // 2, "newest": per_endpoint - per_endpoint // 2, **read}
    # both ends rather than an even spread over time: on 235k demo events this takes about twice
    # the time of the oldest n alone, an even spread (ranks and counts per endpoint) about six times
    wanted = """(e.request_body IS NOT NULL AND e.request_content_type ILIKE '%json%')
           OR (e.response_body IS NOT NULL AND e.response_content_type ILIKE '%json%' AND e.status < 300)"""
    # access logs have no bodies: finding that out reads only the body columns
    if not db.execute(f"SELECT 1 FROM {source} e WHERE {wanted} LIMIT 1", read or None).fetchall():
        return pl.DataFrame()
    return _frame(db.sql(
        f"""
        SELECT t.host, t.method, t.template AS path, e.request_body,
               CASE WHEN e.status < 300 THEN e.response_body END AS response_body,
               e.request_content_type, e.response_content_type
        FROM {source} e JOIN {mapping} t
          ON coalesce(e.host, '') = t.host AND e.method = t.method AND e.path = t.path
        WHERE {wanted}
        QUALIFY row_number() OVER (PARTITION BY t.host, t.method, t.template
                                   ORDER BY e.status >= 300, e.ts, e.event_id) <= $oldest
             OR row_number() OVER (PARTITION BY t.host, t.method, t.template
                                   ORDER BY e.status >= 300, e.ts DESC, e.event_id DESC) <= $newest
        """,
        params=params,
    ))


def table_exists(db: duckdb.DuckDBPyConnection, name: str) -> bool:
    rows = db.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchall()
    return bool(rows[0][0])


def load_endpoints(db: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return _frame(db.sql("SELECT * FROM endpoints ORDER BY host, path, method"))


def replace_endpoints(db: duckdb.DuckDBPyConnection, endpoints: pl.DataFrame) -> None:
    db.register("_endpoints", endpoints)
    columns = ", ".join(c[0] for c in db.execute("DESCRIBE endpoints").fetchall())
    db.execute("BEGIN")
    db.execute("DELETE FROM endpoints")
    db.execute(f"INSERT INTO endpoints SELECT {columns} FROM _endpoints")
    db.execute("COMMIT")
    db.unregister("_endpoints")


def record_changes(db: duckdb.DuckDBPyConnection, changes: pl.DataFrame) -> None:
    if changes.height == 0:
        return
    db.register("_changes", changes)
    db.execute(
        "INSERT INTO inventory_changes SELECT ts, run_id, host, method, path, change, detail FROM _changes"
    )
    db.unregister("_changes")


def _frame(relation: duckdb.DuckDBPyRelation) -> pl.DataFrame:
    return relation.pl()

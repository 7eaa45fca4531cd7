"""The ``alerts`` table and the windowed queries that raise DLP alerts."""

from __future__ import annotations

import duckdb
import polars as pl

ALERTS_DDL = """
CREATE TABLE IF NOT EXISTS alerts (
    id VARCHAR PRIMARY KEY, kind VARCHAR, rule VARCHAR, severity VARCHAR, client VARCHAR,
    partner VARCHAR, principal VARCHAR, api_key_id VARCHAR, client_ip VARCHAR,
    types JSON, endpoints JSON, distinct_values BIGINT, events BIGINT,
    first_seen TIMESTAMPTZ, last_seen TIMESTAMPTZ, window_minutes INTEGER,
    summary VARCHAR, run_id VARCHAR, created_at TIMESTAMPTZ
);
"""


def ensure_alerts(db: duckdb.DuckDBPyConnection) -> None:
    db.execute(ALERTS_DDL)


def dlp_windows(
    db: duckdb.DuckDBPyConnection, types: list[str], direction: str, window_minutes: int, threshold: int
) -> pl.DataFrame:
    """Per client and event-time window, distinct values of ``types`` above ``threshold``.

    Windows are tumbling, evaluated twice — aligned and shifted by half a window — so a
    burst that straddles a boundary is still caught; the caller merges overlaps.
    """
    return db.sql(
        """
        WITH s AS (
            SELECT *, coalesce(partner, principal, api_key_id, client_ip) AS client FROM sensitive
            WHERE list_contains($types, type) AND ($direction = 'any' OR direction = $direction)
              AND exposure <> 'masked' AND fingerprint IS NOT NULL
        ),
        shifted AS (
            SELECT *, shift FROM s, (SELECT unnest([0, $width * 30]) AS shift)
        )
        SELECT client,
               time_bucket(to_minutes($width), ts - to_seconds(shift)) + to_seconds(shift) AS window_start,
               count(DISTINCT fingerprint) AS distinct_values, count(DISTINCT event_id) AS events,
               min(ts) AS first_seen, max(ts) AS last_seen,
               any_value(partner) AS partner, any_value(principal) AS principal,
               any_value(api_key_id) AS api_key_id, any_value(client_ip) AS client_ip,
               list_sort(list_distinct(list(type))) AS types,
               list_sort(list_distinct(list(method || ' ' || coalesce(host, '') || path)))[1:5] AS endpoints
        FROM shifted
        WHERE client IS NOT NULL
        GROUP BY client, shift, window_start
        HAVING count(DISTINCT fingerprint) > $threshold
        ORDER BY client, first_seen
        """,
        params={"types": types, "direction": direction, "width": window_minutes, "threshold": threshold},
    ).pl()


def existing_alerts(db: duckdb.DuckDBPyConnection, rule: str) -> pl.DataFrame:
    return db.sql(
        "SELECT client, first_seen, last_seen FROM alerts WHERE rule = $rule", params={"rule": rule}
    ).pl()


def insert_alerts(db: duckdb.DuckDBPyConnection, alerts: pl.DataFrame) -> None:
    if alerts.height == 0:
        return
    db.register("_alerts", alerts)
    columns = ", ".join(c[0] for c in db.execute("DESCRIBE alerts").fetchall())
    db.execute(f"INSERT OR IGNORE INTO alerts SELECT {columns} FROM _alerts")
    db.unregister("_alerts")


def load_alerts(db: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    rows = db.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'alerts'").fetchall()
    if not rows[0][0]:
        return pl.DataFrame()
    return db.sql("SELECT * FROM alerts ORDER BY first_seen DESC").pl()

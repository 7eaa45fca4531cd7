"""The ``alerts`` and ``incidents`` tables, and the windowed query behind DLP alerts.

One table for every alert, whoever raised it (a behavioural detector or a DLP rule):
the entity it is about (secrets only as fingerprints), when it started and ended in
event time, when a streaming run would have raised it (``detected_at``), the endpoints,
readable evidence with sample event ids, and its OWASP API Top 10 / MITRE ATT&CK
mappings. An alert stays one row while its episode goes on; runs extend it.
"""

from __future__ import annotations

import duckdb
import polars as pl

ALERTS_DDL = """
CREATE TABLE IF NOT EXISTS alerts (
    id VARCHAR PRIMARY KEY, detector VARCHAR, title VARCHAR,
    entity_kind VARCHAR, entity VARCHAR,
    severity VARCHAR, confidence DOUBLE,
    first_seen TIMESTAMPTZ, last_seen TIMESTAMPTZ, detected_at TIMESTAMPTZ,
    endpoints JSON, evidence JSON, sample_event_ids JSON, related JSON, limits JSON,
    owasp JSON, mitre JSON, summary VARCHAR, incident_id VARCHAR, events BIGINT,
    first_run VARCHAR, last_run VARCHAR, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS incidents (
    id VARCHAR PRIMARY KEY, severity VARCHAR, alerts BIGINT, detectors JSON, entities JSON,
    first_seen TIMESTAMPTZ, last_seen TIMESTAMPTZ, summary VARCHAR, updated_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS api_changes (
    id VARCHAR PRIMARY KEY, host VARCHAR, method VARCHAR, path VARCHAR, change VARCHAR,
    ts TIMESTAMPTZ, clients_affected DOUBLE, detail VARCHAR, run_id VARCHAR
);
"""

#: Alert columns in storage order.
ALERT_COLUMNS = [
    "id", "detector", "title", "entity_kind", "entity", "severity", "confidence", "first_seen", "last_seen",
    "detected_at", "endpoints", "evidence", "sample_event_ids", "related", "limits", "owasp", "mitre", "summary",
    "incident_id", "events", "first_run", "last_run", "created_at", "updated_at",
]


def ensure_alerts(db: duckdb.DuckDBPyConnection) -> None:
    """Create the tables; a catalog from before detection (DLP-only alerts) is converted."""
    columns = {r[0] for r in db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'alerts'").fetchall()}
    if columns and "detector" not in columns:
        db.execute("ALTER TABLE alerts RENAME TO alerts_v1")
        db.execute(ALERTS_DDL)
        db.execute("""
            INSERT INTO alerts SELECT id, 'dlp', 'Bulk sensitive data to one client',
                CASE WHEN partner IS NOT NULL THEN 'partner' WHEN principal IS NOT NULL THEN 'principal'
                     WHEN api_key_id IS NOT NULL THEN 'api_key' ELSE 'ip' END,
                client, severity, 0.9, first_seen, last_seen, last_seen, endpoints,
                json_object('rule', rule, 'types', types, 'distinct_values', distinct_values, 'events', events,
                            'window_minutes', window_minutes),
                '[]', '[]', '[]', '["API3:2023"]', '["T1213"]', summary, NULL, events, run_id, run_id,
                created_at, created_at
            FROM alerts_v1""")
        db.execute("DROP TABLE alerts_v1")
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
            SELECT *, coalesce(partner, principal, api_key_id, client_ip) AS client,
                   CASE WHEN partner IS NOT NULL THEN 'partner' WHEN principal IS NOT NULL THEN 'principal'
                        WHEN api_key_id IS NOT NULL THEN 'api_key' ELSE 'ip' END AS client_kind
            FROM sensitive
            WHERE list_contains($types, type) AND ($direction = 'any' OR direction = $direction)
              AND exposure <> 'masked' AND fingerprint IS NOT NULL
        ),
        shifted AS (
            SELECT *, shift FROM s, (SELECT unnest([0, $width * 30]) AS shift)
        )
        SELECT client, any_value(client_kind) AS client_kind,
               time_bucket(to_minutes($width), ts - to_seconds(shift)) + to_seconds(shift) AS window_start,
               count(DISTINCT fingerprint) AS distinct_values, count(DISTINCT event_id) AS events,
               min(ts) AS first_seen, max(ts) AS last_seen,
               list_sort(list_distinct(list(type))) AS types,
               list_sort(list_distinct(list(method || ' ' || coalesce(host, '') || path)))[1:5] AS endpoints,
               list_sort(list_distinct(list(event_id)))[1:5] AS sample_event_ids
        FROM shifted
        WHERE client IS NOT NULL
        GROUP BY client, shift, window_start
        HAVING count(DISTINCT fingerprint) > $threshold
        ORDER BY client, first_seen
        """,
        params={"types": types, "direction": direction, "width": window_minutes, "threshold": threshold},
    ).pl()


def dlp_alerts(db: duckdb.DuckDBPyConnection, rule: str) -> pl.DataFrame:
    """Stored alerts of one DLP rule (entity, first_seen, last_seen)."""
    return db.sql(
        "SELECT entity, first_seen, last_seen FROM alerts "
        "WHERE detector = 'dlp' AND json_extract_string(evidence, '$.rule') = $rule",
        params={"rule": rule},
    ).pl()


def alerts_of(db: duckdb.DuckDBPyConnection, detectors: list[str]) -> pl.DataFrame:
    """Stored alerts of ``detectors``: the episodes new evidence may extend."""
    return db.sql(
        "SELECT id, detector, entity_kind, entity, first_seen, last_seen, confidence, events, evidence, "
        "sample_event_ids, endpoints, related, severity, detected_at, first_run, created_at "
        "FROM alerts WHERE list_contains($d, detector)",
        params={"d": detectors},
    ).pl()


def upsert_alerts(db: duckdb.DuckDBPyConnection, alerts: pl.DataFrame) -> None:
    """Insert new alerts and replace extended ones (same id)."""
    if alerts.height == 0:
        return
    db.register("_alerts", alerts.select(ALERT_COLUMNS))
    db.execute("INSERT OR REPLACE INTO alerts SELECT * FROM _alerts")
    db.unregister("_alerts")


def replace_incidents(db: duckdb.DuckDBPyConnection, incidents: pl.DataFrame, assignment: pl.DataFrame) -> None:
    """Store the incidents and each alert's incident id (``assignment``: id, incident_id)."""
    db.execute("DELETE FROM incidents")
    if incidents.height:
        db.register("_incidents", incidents)
        db.execute("INSERT INTO incidents SELECT * FROM _incidents")
        db.unregister("_incidents")
    if assignment.height:
        db.register("_assign", assignment)
        db.execute("UPDATE alerts SET incident_id = a.incident_id FROM _assign a WHERE alerts.id = a.id")
        db.unregister("_assign")


def insert_api_changes(db: duckdb.DuckDBPyConnection, changes: pl.DataFrame) -> None:
    if changes.height == 0:
        return
    db.register("_changes", changes)
    db.execute("INSERT OR IGNORE INTO api_changes SELECT * FROM _changes")
    db.unregister("_changes")


def _has(db: duckdb.DuckDBPyConnection, table: str) -> bool:
    rows = db.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchall()
    return bool(rows[0][0])


def load_alerts(db: duckdb.DuckDBPyConnection, detector: str | None = None,
                entity: str | None = None) -> pl.DataFrame:
    """Alerts, newest first, optionally of one detector or about one entity."""
    if not _has(db, "alerts"):
        return pl.DataFrame()
    return db.sql(
        "SELECT * FROM alerts WHERE ($d IS NULL OR detector = $d) "
        "AND ($e IS NULL OR entity = $e OR list_contains(CAST(related AS VARCHAR[]), $e)) "
        "ORDER BY first_seen DESC, id",
        params={"d": detector, "e": entity},
    ).pl()


def load_incidents(db: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    if not _has(db, "incidents"):
        return pl.DataFrame()
    return db.sql("SELECT * FROM incidents ORDER BY first_seen DESC").pl()


def load_api_changes(db: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    if not _has(db, "api_changes"):
        return pl.DataFrame()
    return db.sql("SELECT * FROM api_changes ORDER BY ts").pl()

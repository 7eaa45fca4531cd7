"""The ``findings`` table, and the SQL fragments its evidence queries share.

The evidence queries behind the posture checks live by family in ``evidence_auth``,
``evidence_exposure`` and ``evidence_inventory``. Each answers one check in one pass over
the stored ``events`` (or the ``sensitive`` view) mapped to endpoint templates, restricted
to events at or after ``since``, and returns one row per (host, method, template) with the
standard evidence columns (:data:`EVIDENCE`) plus the check's own. No raw value leaves
DuckDB: examples are masked previews, parameter names, templates or event ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from apisight.store.inventory import ensure_tables as ensure_inventory

FINDINGS_DDL = """
CREATE TABLE IF NOT EXISTS findings (
    id VARCHAR, check_name VARCHAR, owasp VARCHAR, severity VARCHAR,
    host VARCHAR, method VARCHAR, path VARCHAR,
    evidence JSON, remediation VARCHAR,
    status VARCHAR,  -- open | resolved
    events BIGINT,  -- events showing the weakness in the latest evidence window
    runs BIGINT,  -- runs whose checks found it
    first_seen TIMESTAMPTZ, last_seen TIMESTAMPTZ,
    first_run VARCHAR, last_run VARCHAR, resolved_run VARCHAR, resolved_at TIMESTAMPTZ
);
"""

#: Event ids kept as samples per finding.
SAMPLES = 5

#: DuckDB memory the evidence queries may hold; past it their joins and aggregates spill to
#: the catalog's temporary directory, so they do not grow with the events in the window
#: (5,000,000 events in a day took 1.1 GB more without it, 0.35 GB with it).
EVIDENCE_MEMORY = "256MB"

EVENTS = """
    SELECT coalesce(t.template, e.path) AS template, e.*
    FROM events e LEFT JOIN path_templates t
      ON coalesce(e.host, '') = t.host AND e.method = t.method AND e.path = t.path
    WHERE e.ts >= $since
"""

SENSITIVE = """
    SELECT coalesce(t.template, s.path) AS template, s.*
    FROM sensitive s LEFT JOIN path_templates t
      ON coalesce(s.host, '') = t.host AND s.method = t.method AND s.path = t.path
    WHERE s.ts >= $since
"""

#: Findings that sit in a URL: the request's query string or path, or a URL the endpoint sent
#: in a redirect (a header finding's field is ``header:<name>``). A Referer is left out: it
#: is another page's URL, not this endpoint's doing.
IN_URL = (
    "direction IN ('query', 'path') "
    "OR (direction = 'response' AND field IN ('header:location', 'header:content-location'))"
)

EVIDENCE = f"""
    coalesce(host, '') AS host, method, template AS path,
    count(DISTINCT event_id) AS events, min(ts) AS first_seen, max(ts) AS last_seen,
    count(DISTINCT client_ip) AS clients,
    list_slice(list_sort(list_distinct(list(event_id))), 1, {SAMPLES}) AS sample_event_ids
"""

#: Per event: the clear sensitive types in its response, and (top-level field, type) pairs.
SENSITIVE_BY_EVENT = """
    SELECT event_id, list_sort(list_distinct(list(type))) AS sensitive_types,
           list_distinct(list({'field': regexp_extract(field, '^\\$(?:\\[\\d+\\])?\\.([^.\\[]+)', 1),
                               'type': type})) AS sensitive_pairs
    FROM sensitive
    WHERE ts >= $since AND direction = 'response' AND coalesce(exposure, 'clear') = 'clear'
      AND NOT list_contains($ignored, type)
    GROUP BY event_id
"""


def union_all(lists: str, where: str = "true") -> str:
    """SQL: the sorted distinct elements of the ``lists`` column over a group (``[]`` for none)."""
    return f"coalesce(list_sort(list_distinct(flatten(list({lists}) FILTER (WHERE {where})))), [])"


def ensure_tables(db: duckdb.DuckDBPyConnection) -> None:
    """Create ``findings`` (and the inventory tables the evidence queries join)."""
    ensure_inventory(db)
    db.execute(FINDINGS_DDL)


@contextmanager
def evidence_memory(db: duckdb.DuckDBPyConnection, limit: str = EVIDENCE_MEMORY) -> Iterator[None]:
    """DuckDB's memory capped at ``limit`` while the evidence queries run, then back to its default."""
    db.execute(f"SET memory_limit = '{limit}'")
    try:
        yield
    finally:
        db.execute("RESET memory_limit")


def newest_event(db: duckdb.DuckDBPyConnection) -> datetime | None:
    """The newest stored event time: "now" for the evidence window, taken from the data."""
    rows = db.execute("SELECT max(ts) FROM events").fetchall()
    return rows[0][0] if rows else None


def save_findings(
    db: duckdb.DuckDBPyConnection, found: pl.DataFrame, ran: list[str], run_id: str, at: datetime | None
) -> dict[str, int]:
    """Merge one run's findings into ``findings``; resolve open ones of the checks in ``ran`` not found again.

    ``found`` has id, check_name, owasp, severity, host, method, path, evidence (JSON text),
    remediation, events, first_seen, last_seen. A finding found again keeps its row (and
    its first_seen/first_run), takes the new evidence, and is open again if it had resolved.
    """
    ensure_tables(db)
    db.register("_found", found)
    params = {"run": run_id, "at": at, "ran": ran}
    try:
        db.execute("BEGIN")
        counts = {
            "reopened": _count(db, "SELECT count(*) FROM findings f JOIN _found n USING (id) "
                                   "WHERE f.status = 'resolved'"),
            "new": _count(db, "SELECT count(*) FROM _found WHERE id NOT IN (SELECT id FROM findings)"),
        }
        db.execute("""
            UPDATE findings f SET owasp = n.owasp, severity = n.severity, evidence = n.evidence,
                   remediation = n.remediation, events = n.events, status = 'open', runs = f.runs + 1,
                   first_seen = least(f.first_seen, n.first_seen), last_seen = greatest(f.last_seen, n.last_seen),
                   last_run = $run, resolved_run = NULL, resolved_at = NULL
            FROM _found n WHERE f.id = n.id
        """, {"run": run_id})
        db.execute("""
            INSERT INTO findings
            SELECT id, check_name, owasp, severity, host, method, path, evidence, remediation, 'open', events, 1,
                   first_seen, last_seen, $run, $run, NULL, NULL
            FROM _found WHERE id NOT IN (SELECT id FROM findings)
        """, {"run": run_id})
        counts["resolved"] = _count(db, """
            SELECT count(*) FROM findings WHERE status = 'open' AND list_contains($ran, check_name)
              AND id NOT IN (SELECT id FROM _found)""", {"ran": ran})
        db.execute("""
            UPDATE findings SET status = 'resolved', resolved_run = $run, resolved_at = $at
            WHERE status = 'open' AND list_contains($ran, check_name) AND id NOT IN (SELECT id FROM _found)
        """, params)
        counts["open"] = _count(db, "SELECT count(*) FROM findings WHERE status = 'open'")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        db.unregister("_found")
    return counts


def load_findings(
    db: duckdb.DuckDBPyConnection,
    severity: str | None = None,
    owasp: str | None = None,
    status: str | None = "open",
) -> pl.DataFrame:
    """Stored findings, most severe first; ``owasp`` is a category code ("API2" or "API2:2023")."""
    if not _has_findings(db):
        return pl.DataFrame()
    return run_sql(db, """
        SELECT id, check_name AS "check", owasp, severity, host, method, path, status, events, runs,
               first_seen, last_seen, evidence, remediation, first_run, last_run, resolved_run, resolved_at
        FROM findings
        WHERE ($severity IS NULL OR severity = $severity)
          AND ($owasp IS NULL OR upper($owasp) IN (upper(split_part(owasp, ':', 1)), upper(split_part(owasp, ' ', 1))))
          AND ($status IS NULL OR status = $status)
        ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2
                 WHEN 'low' THEN 3 ELSE 4 END, check_name, host, path, method
    """, {"severity": severity, "owasp": owasp, "status": status})


def _has_findings(db: duckdb.DuckDBPyConnection) -> bool:
    return bool(_count(db, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'findings'"))


def _count(db: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> int:
    rows = db.execute(sql, params or {}).fetchall()
    return int(rows[0][0]) if rows else 0


def run_sql(db: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> pl.DataFrame:
    return db.sql(sql, params=params).pl()

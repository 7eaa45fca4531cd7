"""The ``findings`` table and the named evidence queries behind the posture checks.

Each evidence query answers one check in one pass over the stored ``events`` (or the
``sensitive`` view) mapped to endpoint templates, restricted to events at or after
``since``, and returns one row per (host, method, template) with the standard evidence
columns (:data:`_EVIDENCE`) plus the check's own. No raw value leaves DuckDB: examples
are masked previews, parameter names, templates or event ids.
"""

from __future__ import annotations

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

_EVENTS = """
    SELECT coalesce(t.template, e.path) AS template, e.*
    FROM events e LEFT JOIN path_templates t
      ON coalesce(e.host, '') = t.host AND e.method = t.method AND e.path = t.path
    WHERE e.ts >= $since
"""

_SENSITIVE = """
    SELECT coalesce(t.template, s.path) AS template, s.*
    FROM sensitive s LEFT JOIN path_templates t
      ON coalesce(s.host, '') = t.host AND s.method = t.method AND s.path = t.path
    WHERE s.ts >= $since
"""

_EVIDENCE = f"""
    coalesce(host, '') AS host, method, template AS path,
    count(DISTINCT event_id) AS events, min(ts) AS first_seen, max(ts) AS last_seen,
    count(DISTINCT client_ip) AS clients,
    list_slice(list_sort(list_distinct(list(event_id))), 1, {SAMPLES}) AS sample_event_ids
"""


def ensure_tables(db: duckdb.DuckDBPyConnection) -> None:
    """Create ``findings`` (and the inventory tables the evidence queries join)."""
    ensure_inventory(db)
    db.execute(FINDINGS_DDL)


def newest_event(db: duckdb.DuckDBPyConnection) -> datetime | None:
    """The newest stored event time: "now" for the evidence window, taken from the data."""
    rows = db.execute("SELECT max(ts) FROM events").fetchall()
    return rows[0][0] if rows else None


def sensitive_without_auth(db: duckdb.DuckDBPyConnection, since: datetime, ignored_types: list[str]) -> pl.DataFrame:
    """Endpoints whose successful responses carried clear sensitive values to unauthenticated requests."""
    return _sql(db, f"""
        WITH s AS ({_SENSITIVE})
        SELECT {_EVIDENCE},
               list_sort(list_distinct(list(type))) AS types,
               list_sort(list_distinct(list(field)))[1:10] AS fields,
               list_sort(list_distinct(list(masked)))[1:{SAMPLES}] AS masked_examples,
               count(DISTINCT fingerprint) AS distinct_values,
               count(DISTINCT event_id) FILTER (WHERE client_zone = 'external') AS external_events
        FROM s
        WHERE direction = 'response' AND auth_scheme = 'none' AND coalesce(exposure, 'clear') = 'clear'
          AND status < 300 AND NOT list_contains($ignored, type)
        GROUP BY ALL ORDER BY host, path, method
    """, {"since": since, "ignored": ignored_types})


def plaintext_http(db: duckdb.DuckDBPyConnection, since: datetime) -> pl.DataFrame:
    """Endpoints called over plain ``http`` by external clients, with the credentials sent that way."""
    return _sql(db, f"""
        WITH e AS ({_EVENTS})
        SELECT {_EVIDENCE},
               to_json(histogram(auth_scheme)) AS auth_schemes,
               count(*) FILTER (WHERE auth_scheme NOT IN ('none', 'unknown')) AS with_credentials
        FROM e
        WHERE scheme = 'http' AND client_zone = 'external'
        GROUP BY ALL ORDER BY host, path, method
    """, {"since": since})


def credentials_in_url(
    db: duckdb.DuckDBPyConnection, since: datetime, credential_types: list[str], exempt_params: list[str]
) -> pl.DataFrame:
    """Endpoints that received secrets in the URL: credential-type findings in the query or path,
    and query parameters that normalisation masked as secrets (``name=[redacted]``)."""
    return _sql(db, f"""
        WITH found AS (
            SELECT template, host, method, event_id, ts, client_ip, type AS what, masked
            FROM ({_SENSITIVE}) s
            WHERE direction IN ('query', 'path') AND list_contains($types, type)
              AND NOT list_contains($exempt, lower(regexp_extract(field, '^\\$\\.([^.\\[]+)', 1)))
            UNION ALL
            SELECT template, host, method, event_id, ts, client_ip, 'param:' || lower(param) AS what, NULL AS masked
            FROM (
                SELECT template, host, method, event_id, ts, client_ip,
                       unnest(regexp_extract_all(query, '(?:^|&)([^=&]+)=\\[redacted\\]', 1)) AS param
                FROM ({_EVENTS}) e WHERE contains(query, '=[redacted]')
            ) WHERE NOT list_contains($exempt, lower(param))
        )
        SELECT {_EVIDENCE},
               list_sort(list_distinct(list(what))) AS carried,
               list_sort(list_distinct(list(masked) FILTER (WHERE masked IS NOT NULL)))[1:{SAMPLES}]
                 AS masked_examples
        FROM found GROUP BY ALL ORDER BY host, path, method
    """, {"since": since, "types": credential_types, "exempt": exempt_params})


def sensitive_in_url(db: duckdb.DuckDBPyConnection, since: datetime, excluded_types: list[str]) -> pl.DataFrame:
    """Endpoints whose query string or path carried clear personal or financial values."""
    return _sql(db, f"""
        WITH s AS ({_SENSITIVE})
        SELECT {_EVIDENCE},
               list_sort(list_distinct(list(type))) AS types,
               list_sort(list_distinct(list(direction || ' ' || field)))[1:10] AS fields,
               list_sort(list_distinct(list(masked)))[1:{SAMPLES}] AS masked_examples,
               count(DISTINCT fingerprint) AS distinct_values
        FROM s
        WHERE direction IN ('query', 'path') AND coalesce(exposure, 'clear') = 'clear'
          AND NOT list_contains($excluded, type)
        GROUP BY ALL ORDER BY host, path, method
    """, {"since": since, "excluded": excluded_types})


def exposed_endpoints(db: duckdb.DuckDBPyConnection, since: datetime, rules: pl.DataFrame) -> pl.DataFrame:
    """Endpoints matching ``rules`` (kind, template_pattern, body_pattern, owasp, severity; patterns
    are regexes, body_pattern may be null) answered with 2xx to external clients. The first
    matching rule (by its order) names the finding."""
    db.register("_exposure_rules", rules.with_row_index("rule_order"))
    try:
        return _sql(db, f"""
            WITH e AS ({_EVENTS}),
            hits AS (
                SELECT e.*, r.kind, r.owasp, r.severity, r.rule_order
                FROM e JOIN _exposure_rules r
                  ON regexp_matches(e.template, r.template_pattern)
                 AND (r.body_pattern IS NULL
                      OR regexp_matches(coalesce(e.request_body, '') || ' ' || coalesce(e.query, ''), r.body_pattern))
                WHERE e.client_zone = 'external' AND e.status BETWEEN 200 AND 299
            )
            SELECT {_EVIDENCE},
                   arg_min(kind, rule_order) AS kind, arg_min(owasp, rule_order) AS owasp,
                   arg_min(severity, rule_order) AS severity,
                   to_json(histogram(status)) AS statuses
            FROM hits GROUP BY coalesce(host, ''), method, template ORDER BY host, path, method
        """, {"since": since})
    finally:
        db.unregister("_exposure_rules")


def verbose_errors(db: duckdb.DuckDBPyConnection, since: datetime, markers: pl.DataFrame) -> pl.DataFrame:
    """Endpoints whose error responses (status >= 400) contain a marker (kind, pattern) of a stack
    trace, SQL error or framework debug page."""
    db.register("_error_markers", markers)
    try:
        return _sql(db, f"""
            WITH e AS ({_EVENTS}),
            hits AS (
                SELECT e.*, m.kind FROM e JOIN _error_markers m ON regexp_matches(e.response_body, m.pattern)
                WHERE e.status >= 400 AND e.response_body IS NOT NULL
            )
            SELECT {_EVIDENCE},
                   list_sort(list_distinct(list(kind))) AS markers,
                   to_json(histogram(status)) AS statuses
            FROM hits GROUP BY ALL ORDER BY host, path, method
        """, {"since": since})
    finally:
        db.unregister("_error_markers")


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
    return _sql(db, """
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


def _sql(db: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> pl.DataFrame:
    return db.sql(sql, params=params).pl()

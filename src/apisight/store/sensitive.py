"""Named queries over the ``sensitive`` view: the data map and who receives what."""

from __future__ import annotations

import duckdb
import polars as pl

_MAPPED = """
    SELECT coalesce(t.template, s.path) AS template, s.*
    FROM sensitive s LEFT JOIN path_templates t
      ON coalesce(s.host, '') = t.host AND s.method = t.method AND s.path = t.path
"""


def data_map(db: duckdb.DuckDBPyConnection, type_: str | None = None) -> pl.DataFrame:
    """Per endpoint, type and direction: field paths, first/last seen, events, distinct values."""
    where = "WHERE type = $type" if type_ else ""
    params = {"type": type_} if type_ else {}
    return db.sql(
        f"""
        WITH s AS ({_mapped(db)})
        SELECT coalesce(host, '') AS host, method, template AS path, type, direction,
               list_sort(list_distinct(list(field))) AS fields,
               min(ts) AS first_seen, max(ts) AS last_seen,
               count(DISTINCT event_id) AS events, count(DISTINCT fingerprint) AS distinct_values,
               any_value(severity) AS severity,
               count(*) FILTER (WHERE scheme = 'http') AS over_plaintext,
               count(*) FILTER (WHERE auth_scheme = 'none') AS without_auth
        FROM s {where}
        GROUP BY ALL ORDER BY events DESC, host, path, type
        """,
        params=params,
    ).pl()


def flows(db: duckdb.DuckDBPyConnection, direction: str = "response", type_: str | None = None) -> pl.DataFrame:
    """Per type, endpoint and client: how many distinct values the client received (or sent)."""
    where = "WHERE direction = $direction" + (" AND type = $type" if type_ else "")
    params: dict[str, str] = {"direction": direction}
    if type_:
        params["type"] = type_
    return db.sql(
        f"""
        WITH s AS ({_mapped(db)})
        SELECT type, coalesce(host, '') AS host, method, template AS path,
               coalesce(partner, principal, api_key_id, client_ip) AS client,
               any_value(partner) AS partner, any_value(principal) AS principal,
               any_value(api_key_id) AS api_key_id, count(DISTINCT client_ip) AS client_ips,
               any_value(client_ip) AS client_ip, any_value(client_zone) AS network,
               count(DISTINCT fingerprint) AS distinct_values, count(DISTINCT event_id) AS events,
               min(ts) AS first_seen, max(ts) AS last_seen
        FROM s {where}
        GROUP BY type, coalesce(host, ''), method, template, coalesce(partner, principal, api_key_id, client_ip)
        ORDER BY distinct_values DESC, events DESC
        """,
        params=params,
    ).pl()


def _mapped(db: duckdb.DuckDBPyConnection) -> str:
    rows = db.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'path_templates'"
    ).fetchall()
    return _MAPPED if rows[0][0] else "SELECT s.path AS template, s.* FROM sensitive s"


def run_totals(db: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, dict[str, int]]:
    """Per type: findings and distinct values found by one run."""
    rows = db.sql(
        "SELECT type, count(*) AS findings, count(DISTINCT fingerprint) AS distinct_values FROM sensitive "
        "WHERE starts_with(event_id, $prefix) GROUP BY type ORDER BY distinct_values DESC",
        params={"prefix": run_id + "-"},
    ).fetchall()
    return {t: {"findings": f, "distinct_values": d} for t, f, d in rows}

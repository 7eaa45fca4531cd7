"""An entity's stored events and alerts in time order, for investigation."""

from __future__ import annotations

import duckdb
import polars as pl

#: Event columns an entity may be: its address, network, principal, key, token, account name, agent, partner.
_MATCH = """
    client_ip = $e OR principal = $e OR api_key_id = $e OR credential_fp = $e OR login_fp = $e
    OR partner = $e OR user_agent = $e
    OR (ends_with($e, '.0/24') AND starts_with(client_ip, left($e, length($e) - 4)))
"""


def entity_events(db: duckdb.DuckDBPyConnection, entity: str, limit: int) -> pl.DataFrame:
    """The entity's events, oldest first, at most ``limit`` (the newest ones when there are more)."""
    return db.sql(
        f"""
        SELECT * FROM (
            SELECT ts, event_id, host, method, path, status, client_ip, principal, api_key_id, user_agent
            FROM events WHERE {_MATCH} ORDER BY ts DESC LIMIT $limit
        ) ORDER BY ts
        """,
        params={"e": entity, "limit": limit},
    ).pl()


def entity_event_count(db: duckdb.DuckDBPyConnection, entity: str) -> int:
    return int(db.sql(f"SELECT count(*) AS n FROM events WHERE {_MATCH}", params={"e": entity}).pl()["n"][0])

"""Named aggregate queries behind the log-quality report.

Each function answers one question about the stored ``events`` in one pass, grouped by
(source, host), and returns one dict per group. No per-event data leaves DuckDB.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

#: Addresses in RFC 1918, loopback and IPv6 unique-local ranges, as a regex for DuckDB.
_PRIVATE_RE = r"^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|127\.|[fF][cCdD][0-9a-fA-F]{2}:|::1$)"

_COVERAGE = """
SELECT
    source,
    coalesce(host, '') AS host,
    count(*) AS events,
    count(method) AS method,
    count(path) AS path,
    count(status) AS status,
    count(client_ip) AS client_ip,
    count(principal) AS principal,
    count(api_key_id) AS api_key_id,
    count(credential_fp) AS credential,
    count(*) FILTER (WHERE principal IS NOT NULL OR api_key_id IS NOT NULL) AS identity,
    count(*) FILTER (WHERE auth_scheme IS DISTINCT FROM 'none') AS maybe_authenticated,
    count(latency_ms) AS latency,
    count(request_bytes) AS request_bytes,
    count(response_bytes) AS response_bytes,
    count(*) FILTER (WHERE coalesce(query, '') <> '') AS query,
    count(*) FILTER (WHERE coalesce(request_headers, '') NOT IN ('', '{}')) AS request_headers,
    count(*) FILTER (WHERE coalesce(request_body, '') <> '' OR coalesce(response_body, '') <> '') AS bodies,
    count(*) FILTER (WHERE epoch_us(ts) % 1000000 <> 0) AS sub_second,
    count(*) FILTER (WHERE epoch_us(ts) % 1000 <> 0) AS sub_millisecond
FROM events
GROUP BY ALL
ORDER BY host, source
"""

_CLIENT_ADDRESSES = f"""
WITH per_ip AS (
    SELECT source, coalesce(host, '') AS host, client_ip, count(*) AS n,
           bool_or(client_zone = 'internal' OR regexp_matches(client_ip, '{_PRIVATE_RE}')) AS private
    FROM events WHERE client_ip IS NOT NULL
    GROUP BY ALL
), ranked AS (
    SELECT *, row_number() OVER (PARTITION BY source, host ORDER BY n DESC, client_ip) AS rank FROM per_ip
), addresses AS (
    SELECT source, host,
           count(*) AS distinct_clients,
           sum(n) AS with_client_ip,
           coalesce(sum(n) FILTER (WHERE rank <= 5), 0) AS top5_events,
           coalesce(sum(n) FILTER (WHERE private), 0) AS private_events,
           list(client_ip ORDER BY rank) FILTER (WHERE rank <= 5) AS top_addresses
    FROM ranked GROUP BY ALL
), forwarded AS (
    SELECT source, coalesce(host, '') AS host, count(*) AS events,
           count(forwarded_for) AS with_forwarded_for,
           count(DISTINCT forwarded_for) AS distinct_forwarded_for
    FROM events GROUP BY ALL
)
SELECT f.source, f.host, f.events, f.with_forwarded_for, f.distinct_forwarded_for,
       coalesce(a.distinct_clients, 0) AS distinct_clients,
       coalesce(a.with_client_ip, 0) AS with_client_ip,
       coalesce(a.top5_events, 0) AS top5_events,
       coalesce(a.private_events, 0) AS private_events,
       coalesce(a.top_addresses, []) AS top_addresses
FROM forwarded f LEFT JOIN addresses a USING (source, host)
ORDER BY f.host, f.source
"""

_CLOCK = """
SELECT
    source,
    coalesce(host, '') AS host,
    count(*) AS events,
    min(ts) AS first_event,
    quantile_disc(ts, 0.5) AS median_event,
    max(ts) AS last_event,
    count(*) FILTER (WHERE ts > $future_after) AS future,
    count(*) FILTER (WHERE ts < TIMESTAMPTZ '2000-01-01 00:00:00+00') AS before_2000
FROM events
WHERE ts IS NOT NULL
GROUP BY ALL
ORDER BY host, source
"""


def field_coverage(db: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Per (source, host): event count and how many events carry each field.

    ``sub_second`` / ``sub_millisecond`` count events whose timestamp has a non-zero
    fraction at that resolution, from which the logging precision is inferred.
    ``maybe_authenticated`` counts events not known to be anonymous (the denominator
    for identity coverage: anonymous requests cannot have a principal).
    """
    return _dicts(db.execute(_COVERAGE))


def client_addresses(db: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Per (source, host): how concentrated and how private the client addresses are.

    ``top5_events`` is how many events come from the five busiest addresses;
    ``private_events`` how many come from internal or RFC 1918 addresses; the
    forwarded-for counts show whether a proxy header varies behind them.
    """
    return _dicts(db.execute(_CLIENT_ADDRESSES))


def clock_ranges(db: duckdb.DuckDBPyConnection, future_after: datetime) -> list[dict[str, Any]]:
    """Per (source, host): first, median and last timestamp; events after ``future_after``
    and before 2000 (implausible: a parse or clock error)."""
    return _dicts(db.execute(_CLOCK, {"future_after": future_after}))


def _dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    columns = [d[0] for d in cursor.description or []]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

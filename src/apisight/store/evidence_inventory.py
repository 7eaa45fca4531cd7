"""Evidence queries of the inventory and traffic-shape checks: shadow and zombie endpoints,
endpoints without rate limiting and enumerable (BOLA-prone) object ids.

Each follows the contract of :mod:`apisight.store.findings`: one pass over the events of the
window, one row per (host, method, template) with the standard evidence columns.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl

from apisight.store.findings import EVENTS, EVIDENCE, SENSITIVE_BY_EVENT, run_sql, union_all


def unthrottled_bursts(
    db: duckdb.DuckDBPyConnection, since: datetime, template_pattern: str, methods: list[str], max_requests: int,
    per_seconds: int,
) -> pl.DataFrame:
    """Endpoints matching ``template_pattern`` (with ``methods``) where one client IP or API key
    sent ``max_requests`` or more within ``per_seconds`` and the endpoint never answered 429 in
    the window. Evidence counts the requests of those bursts; ``high`` when their answers include
    ``max_requests`` or more authentication failures (401/403). Clients of unknown address count
    only by API key."""
    return run_sql(db, f"""
        WITH e AS (
            SELECT * FROM ({EVENTS}) e
            WHERE list_contains($methods, method) AND regexp_matches(template, $pattern)
        ),
        rated AS (
            SELECT *,
                   count(client_ip) OVER (PARTITION BY coalesce(host, ''), method, template, client_ip
                                  ORDER BY ts RANGE BETWEEN to_seconds($seconds) PRECEDING AND CURRENT ROW) AS per_ip,
                   count(api_key_id) OVER (PARTITION BY coalesce(host, ''), method, template, api_key_id
                                  ORDER BY ts RANGE BETWEEN to_seconds($seconds) PRECEDING AND CURRENT ROW) AS per_key
            FROM e WHERE coalesce(client_zone, '') <> 'internal'
        ),
        spans AS (  -- a request is part of a burst when a window ending within the next per_seconds is full
            SELECT *,
                   max(per_ip) OVER (PARTITION BY coalesce(host, ''), method, template, client_ip
                                     ORDER BY ts RANGE BETWEEN CURRENT ROW AND to_seconds($seconds) FOLLOWING)
                     AS ip_peak,
                   max(per_key) OVER (PARTITION BY coalesce(host, ''), method, template, api_key_id
                                      ORDER BY ts RANGE BETWEEN CURRENT ROW AND to_seconds($seconds) FOLLOWING)
                     AS key_peak
            FROM rated
        ),
        throttled AS (SELECT DISTINCT coalesce(host, '') AS host, method, template FROM e WHERE status = 429),
        bursts AS (
            SELECT * FROM spans
            WHERE greatest(ip_peak, key_peak) >= $max
              AND (coalesce(host, ''), method, template) NOT IN (SELECT (host, method, template) FROM throttled)
        )
        SELECT {EVIDENCE},
               max(greatest(per_ip, per_key)) AS peak_requests, $seconds AS per_seconds,
               count(*) FILTER (WHERE status IN (401, 403)) AS auth_failures,
               to_json(histogram(status)) AS statuses,
               CASE WHEN count(*) FILTER (WHERE status IN (401, 403)) >= $max THEN 'high' END AS severity
        FROM bursts GROUP BY ALL ORDER BY host, path, method
    """, {"since": since, "methods": methods, "pattern": template_pattern, "max": max_requests,
          "seconds": per_seconds})


def enumerable_ids(
    db: duckdb.DuckDBPyConnection, since: datetime, min_ids: int, max_median_gap: int, min_numeric_share: float,
    ignored_types: list[str],
) -> pl.DataFrame:
    """Endpoints with a path parameter whose observed values are sequential integers (at least
    ``min_numeric_share`` numeric, ``min_ids`` distinct, median gap between neighbours at most
    ``max_median_gap``) and that one principal (JWT subject, key, credential or else client IP)
    read ``min_ids`` or more of with 2xx answers. Requests without any credential are public
    reads, not object authorization, and are left out, and so are internal callers: a service
    calling another (often without a credential the logs show) would be one "principal", its
    pod's address, walking every id. ``high`` when those answers carried clear sensitive data."""
    return run_sql(db, f"""
        WITH e AS (
            SELECT *, string_split(template, '/') AS tparts, string_split(path, '/') AS pparts,
                   coalesce(principal, api_key_id, credential_fp, client_ip) AS who
            FROM ({EVENTS}) e
            WHERE contains(template, '{{') AND status BETWEEN 200 AND 299 AND auth_scheme IS DISTINCT FROM 'none'
              AND coalesce(client_zone, '') <> 'internal'
        ),
        ids AS (
            SELECT * EXCLUDE (i), tparts[i] AS param, pparts[i] AS value,
                   CASE WHEN regexp_full_match(pparts[i], '[0-9]{{1,18}}') THEN pparts[i]::BIGINT END AS n
            FROM (SELECT *, unnest(range(1, len(tparts) + 1)) AS i FROM e WHERE len(tparts) = len(pparts))
            WHERE regexp_full_match(tparts[i], '\\{{[^}}]+\\}}')
        ),
        params AS (
            SELECT coalesce(host, '') AS h, method AS m, template AS t, param,
                   count(DISTINCT n) AS distinct_ids,
                   list_sort(list_distinct(list(n) FILTER (WHERE n IS NOT NULL))) AS sorted
            FROM ids GROUP BY ALL
            HAVING count(n) >= $share * count(*) AND count(DISTINCT n) >= $min_ids
        ),
        dense AS (
            SELECT *, list_median(list_transform(range(2, len(sorted) + 1),
                                                 lambda k: sorted[k] - sorted[k - 1])) AS gap
            FROM params
        ),
        walkers AS (
            SELECT d.h, d.m, d.t, d.param, ids.who, count(DISTINCT ids.n) AS read
            FROM ids JOIN dense d ON coalesce(ids.host, '') = d.h AND ids.method = d.m AND ids.template = d.t
                                  AND ids.param = d.param
            WHERE d.gap <= $max_gap AND ids.n IS NOT NULL
            GROUP BY ALL HAVING count(DISTINCT ids.n) >= $min_ids
        ),
        hits AS (
            SELECT ids.*, w.read, d.distinct_ids, d.gap, s.sensitive_types
            FROM ids JOIN walkers w ON coalesce(host, '') = w.h AND method = w.m AND template = w.t
                                    AND ids.param = w.param AND ids.who = w.who
            JOIN dense d ON w.h = d.h AND w.m = d.m AND w.t = d.t AND w.param = d.param
            LEFT JOIN ({SENSITIVE_BY_EVENT}) s USING (event_id)
        )
        SELECT {EVIDENCE},
               list_sort(list_distinct(list(param))) AS id_params,
               max(distinct_ids) AS distinct_ids, min(gap) AS median_gap,
               count(DISTINCT who) AS principals, max(read) AS max_ids_per_principal,
               {union_all("sensitive_types")} AS sensitive_types,
               CASE WHEN count(sensitive_types) > 0 THEN 'high' END AS severity
        FROM hits GROUP BY ALL ORDER BY host, path, method
    """, {"since": since, "min_ids": min_ids, "max_gap": max_median_gap, "share": min_numeric_share,
          "ignored": ignored_types})


def inventory_endpoints(
    db: duckdb.DuckDBPyConnection, since: datetime, spec_status: str, ignored_types: list[str],
    absent_statuses: list[int],
) -> pl.DataFrame:
    """Endpoints of one inventory ``spec_status`` (shadow, zombie) called in the window, with what
    they served: clear sensitive data in responses, and successes without any credential.
    Shadow endpoints count only on hosts a spec covers (without a spec everything is shadow).
    An endpoint that answered nothing but ``absent_statuses`` in the window (404, 410, ...) is
    left out: no route answers there, or it is retired."""
    return run_sql(db, f"""
        WITH ep AS (
            SELECT host AS h, method AS m, path AS t, deprecated, spec_file, operation_id FROM endpoints
            WHERE spec_status = $status
              AND ($status <> 'shadow' OR host IN (SELECT host FROM endpoints WHERE spec_file IS NOT NULL))
        ),
        hits AS (
            SELECT e.*, ep.deprecated, ep.spec_file, ep.operation_id, s.sensitive_types
            FROM ({EVENTS}) e JOIN ep ON coalesce(e.host, '') = ep.h AND e.method = ep.m AND e.template = ep.t
            LEFT JOIN ({SENSITIVE_BY_EVENT}) s USING (event_id)
        )
        SELECT {EVIDENCE}, $status AS spec_status,
               any_value(deprecated) AS deprecated, any_value(spec_file) AS spec_file,
               any_value(operation_id) AS operation_id,
               to_json(histogram(auth_scheme)) AS auth_schemes,
               count(*) FILTER (WHERE auth_scheme = 'none' AND status BETWEEN 200 AND 299) AS unauthenticated_successes,
               count(*) FILTER (WHERE sensitive_types IS NOT NULL) AS sensitive_events,
               {union_all("sensitive_types")} AS sensitive_types,
               count(*) FILTER (WHERE client_zone = 'external') AS external_events,
               to_json(histogram(status)) AS statuses
        FROM hits GROUP BY ALL
        HAVING count(*) FILTER (WHERE status IS NULL OR NOT list_contains($absent, status)) > 0
        ORDER BY host, path, method
    """, {"since": since, "status": spec_status, "ignored": ignored_types, "absent": absent_statuses})

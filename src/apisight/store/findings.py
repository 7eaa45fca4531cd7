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
    db: duckdb.DuckDBPyConnection, since: datetime, credential_types: list[str], exempt_params: list[str],
    credential_params: list[str], credential_pattern: str,
) -> pl.DataFrame:
    """Endpoints that received secrets in the URL: credential-type findings in the query or path,
    and query parameters that normalisation masked (``name=[redacted]``) named in
    ``credential_params`` (lower case) or matching ``credential_pattern`` in full."""
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
                AND (list_contains($params, lower(param)) OR regexp_full_match(param, $pattern))
        )
        SELECT {_EVIDENCE},
               list_sort(list_distinct(list(what))) AS carried,
               list_sort(list_distinct(list(masked) FILTER (WHERE masked IS NOT NULL)))[1:{SAMPLES}]
                 AS masked_examples
        FROM found GROUP BY ALL ORDER BY host, path, method
    """, {"since": since, "types": credential_types, "exempt": exempt_params, "params": credential_params,
          "pattern": credential_pattern})


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
            served AS (SELECT * FROM e WHERE e.client_zone = 'external' AND e.status BETWEEN 200 AND 299),
            -- rules are matched per distinct template, not per event: a pattern taken from a table is
            -- compiled for every row it is applied to
            matched AS (
                SELECT t.template, r.kind, r.owasp, r.severity, r.rule_order, r.body_pattern
                FROM (SELECT DISTINCT template FROM served) t
                JOIN _exposure_rules r ON regexp_matches(t.template, r.template_pattern)
            ),
            hits AS (  -- one row per event: its first matching rule
                SELECT served.*, m.kind, m.owasp, m.severity, m.rule_order
                FROM served JOIN matched m ON served.template = m.template
                WHERE m.body_pattern IS NULL
                   OR regexp_matches(coalesce(served.request_body, '') || ' ' || coalesce(served.query, ''),
                                     m.body_pattern)
                QUALIFY row_number() OVER (PARTITION BY served.event_id ORDER BY m.rule_order) = 1
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
    trace, SQL error or framework debug page. Counts are per event, however many markers it shows."""
    db.register("_error_markers", markers.with_row_index("marker_order"))
    try:
        return _sql(db, f"""
            WITH e AS ({_EVENTS}),
            -- one constant pattern (compiled once) picks the bodies; per-marker patterns only name them
            marked AS (
                SELECT * FROM e WHERE e.status >= 400 AND e.response_body IS NOT NULL
                  AND regexp_matches(e.response_body, $any_marker)
            ),
            hits AS (  -- one row per event, with the kinds of all the markers it shows
                SELECT marked.*, list(m.kind) OVER (PARTITION BY marked.event_id) AS kinds
                FROM marked JOIN _error_markers m ON regexp_matches(marked.response_body, m.pattern)
                QUALIFY row_number() OVER (PARTITION BY marked.event_id ORDER BY m.marker_order) = 1
            )
            SELECT {_EVIDENCE},
                   {_union("kinds")} AS markers,
                   to_json(histogram(status)) AS statuses
            FROM hits GROUP BY ALL ORDER BY host, path, method
        """, {"since": since, "any_marker": "|".join(f"(?:{p})" for p in markers["pattern"].to_list()) or "$^"})
    finally:
        db.unregister("_error_markers")


#: Per event: the clear sensitive types in its response, and (top-level field, type) pairs.
_SENSITIVE_BY_EVENT = """
    SELECT event_id, list_sort(list_distinct(list(type))) AS sensitive_types,
           list_distinct(list({'field': regexp_extract(field, '^\\$(?:\\[\\d+\\])?\\.([^.\\[]+)', 1),
                               'type': type})) AS sensitive_pairs
    FROM sensitive
    WHERE ts >= $since AND direction = 'response' AND coalesce(exposure, 'clear') = 'clear'
      AND NOT list_contains($ignored, type)
    GROUP BY event_id
"""


def _union(lists: str, where: str = "true") -> str:
    """SQL: the sorted distinct elements of the ``lists`` column over a group (``[]`` for none)."""
    return f"coalesce(list_sort(list_distinct(flatten(list({lists}) FILTER (WHERE {where})))), [])"


def jwt_weaknesses(db: duckdb.DuckDBPyConnection, since: datetime, max_lifetime_s: int, leeway_s: int) -> pl.DataFrame:
    """Endpoints that received weak JWTs: ``alg: none``; HS* (``hs_mixed_issuer`` when the same
    issuer also signs asymmetrically); no ``exp``; ``exp`` more than ``max_lifetime_s`` after the
    request; and 2xx answers to tokens expired more than ``leeway_s`` before the request, on
    endpoints that answered no request without credentials with 2xx (public ones ignore tokens).
    ``weaknesses`` counts events per weakness; ``severity`` is the worst one's."""
    return _sql(db, f"""
        WITH e AS ({_EVENTS}),
        jwt AS (SELECT * FROM e WHERE jwt_alg IS NOT NULL),
        issuers AS (
            SELECT jwt_iss, bool_or(regexp_matches(upper(jwt_alg), '^(RS|ES|PS|ED)')) AS asymmetric
            FROM jwt WHERE jwt_iss IS NOT NULL GROUP BY jwt_iss
        ),
        public AS (  -- endpoints that answer requests without credentials ignore tokens, expired or not
            SELECT DISTINCT coalesce(host, '') AS h, method AS m, template AS t FROM e
            WHERE auth_scheme = 'none' AND status BETWEEN 200 AND 299
        ),
        weak AS (
            SELECT j.*, unnest(list_filter([
                CASE WHEN lower(jwt_alg) = 'none' THEN 'alg_none' END,
                CASE WHEN upper(jwt_alg) LIKE 'HS%'
                     THEN CASE WHEN i.asymmetric THEN 'hs_mixed_issuer' ELSE 'hs_symmetric' END END,
                CASE WHEN jwt_exp IS NULL THEN 'no_exp' END,
                CASE WHEN jwt_exp > ts + to_seconds($lifetime) THEN 'long_lived' END,
                CASE WHEN jwt_exp < ts - to_seconds($leeway) AND status BETWEEN 200 AND 299 AND p.h IS NULL
                     THEN 'accepted_after_expiry' END
            ], lambda w: w IS NOT NULL)) AS weakness
            FROM jwt j LEFT JOIN issuers i ON j.jwt_iss = i.jwt_iss
            LEFT JOIN public p ON coalesce(j.host, '') = p.h AND j.method = p.m AND j.template = p.t
        )
        SELECT {_EVIDENCE},
               to_json(histogram(weakness)) AS weaknesses,
               CASE WHEN bool_or(weakness = 'alg_none') THEN 'critical'
                    WHEN bool_or(weakness IN ('accepted_after_expiry', 'hs_mixed_issuer')) THEN 'high'
                    WHEN bool_or(weakness = 'no_exp') THEN 'medium'
                    WHEN bool_or(weakness = 'long_lived') THEN 'low' ELSE 'info' END AS severity,
               count(DISTINCT credential_fp) AS tokens,
               list_sort(list_distinct(list(jwt_iss) FILTER (WHERE jwt_iss IS NOT NULL)))[1:10] AS issuers,
               to_json(histogram(jwt_alg)) AS algorithms
        FROM weak GROUP BY ALL ORDER BY host, path, method
    """, {"since": since, "lifetime": max_lifetime_s, "leeway": leeway_s})


def shared_tokens(
    db: duckdb.DuckDBPyConnection, since: datetime, schemes: list[str], min_ips: int, public_ips: int
) -> pl.DataFrame:
    """Per host: credentials (of ``schemes``) used from ``min_ips`` or more distinct non-internal
    client IPs. ``high`` when one reached ``public_ips``. Fingerprints are cut to 12 characters."""
    return _sql(db, f"""
        WITH used AS (
            SELECT * FROM ({_EVENTS}) e
            WHERE credential_fp IS NOT NULL AND list_contains($schemes, auth_scheme)
              AND coalesce(client_zone, '') <> 'internal'
        ),
        shared AS (
            SELECT coalesce(host, '') AS host, credential_fp, count(DISTINCT client_ip) AS ips
            FROM used GROUP BY ALL HAVING count(DISTINCT client_ip) >= $min_ips
        )
        SELECT s.host, '*' AS method, '*' AS path,
               count(DISTINCT event_id) AS events, min(ts) AS first_seen, max(ts) AS last_seen,
               count(DISTINCT client_ip) AS clients,
               list_slice(list_sort(list_distinct(list(event_id))), 1, {SAMPLES}) AS sample_event_ids,
               count(DISTINCT s.credential_fp) AS tokens, max(ips) AS max_ips_per_token,
               list_sort(list_distinct(list(left(s.credential_fp, 12))))[1:{SAMPLES}] AS token_fingerprints,
               count(DISTINCT user_agent) AS user_agents,
               list_sort(list_distinct(list(u.method || ' ' || template)))[1:10] AS endpoints,
               CASE WHEN max(ips) >= $public_ips THEN 'high' END AS severity
        FROM used u JOIN shared s ON coalesce(u.host, '') = s.host AND u.credential_fp = s.credential_fp
        GROUP BY s.host ORDER BY s.host
    """, {"since": since, "schemes": schemes, "min_ips": min_ips, "public_ips": public_ips})


def unthrottled_bursts(
    db: duckdb.DuckDBPyConnection, since: datetime, template_pattern: str, methods: list[str], max_requests: int,
    per_seconds: int,
) -> pl.DataFrame:
    """Endpoints matching ``template_pattern`` (with ``methods``) where one client IP or API key
    sent ``max_requests`` or more within ``per_seconds`` and the endpoint never answered 429 in
    the window. Evidence counts the requests of those bursts; ``high`` when their answers include
    ``max_requests`` or more authentication failures (401/403). Clients of unknown address count
    only by API key."""
    return _sql(db, f"""
        WITH e AS (
            SELECT * FROM ({_EVENTS}) e
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
        SELECT {_EVIDENCE},
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
    return _sql(db, f"""
        WITH e AS (
            SELECT *, string_split(template, '/') AS tparts, string_split(path, '/') AS pparts,
                   coalesce(principal, api_key_id, credential_fp, client_ip) AS who
            FROM ({_EVENTS}) e
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
            LEFT JOIN ({_SENSITIVE_BY_EVENT}) s USING (event_id)
        )
        SELECT {_EVIDENCE},
               list_sort(list_distinct(list(param))) AS id_params,
               max(distinct_ids) AS distinct_ids, min(gap) AS median_gap,
               count(DISTINCT who) AS principals, max(read) AS max_ids_per_principal,
               {_union("sensitive_types")} AS sensitive_types,
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
    return _sql(db, f"""
        WITH ep AS (
            SELECT host AS h, method AS m, path AS t, deprecated, spec_file, operation_id FROM endpoints
            WHERE spec_status = $status
              AND ($status <> 'shadow' OR host IN (SELECT host FROM endpoints WHERE spec_file IS NOT NULL))
        ),
        hits AS (
            SELECT e.*, ep.deprecated, ep.spec_file, ep.operation_id, s.sensitive_types
            FROM ({_EVENTS}) e JOIN ep ON coalesce(e.host, '') = ep.h AND e.method = ep.m AND e.template = ep.t
            LEFT JOIN ({_SENSITIVE_BY_EVENT}) s USING (event_id)
        )
        SELECT {_EVIDENCE}, $status AS spec_status,
               any_value(deprecated) AS deprecated, any_value(spec_file) AS spec_file,
               any_value(operation_id) AS operation_id,
               to_json(histogram(auth_scheme)) AS auth_schemes,
               count(*) FILTER (WHERE auth_scheme = 'none' AND status BETWEEN 200 AND 299) AS unauthenticated_successes,
               count(*) FILTER (WHERE sensitive_types IS NOT NULL) AS sensitive_events,
               {_union("sensitive_types")} AS sensitive_types,
               count(*) FILTER (WHERE client_zone = 'external') AS external_events,
               to_json(histogram(status)) AS statuses
        FROM hits GROUP BY ALL
        HAVING count(*) FILTER (WHERE status IS NULL OR NOT list_contains($absent, status)) > 0
        ORDER BY host, path, method
    """, {"since": since, "status": spec_status, "ignored": ignored_types, "absent": absent_statuses})


def security_headers(
    db: duckdb.DuckDBPyConnection, since: datetime, complete_sources: list[str], min_reflected: int,
    ignored_types: list[str],
) -> pl.DataFrame:
    """Endpoints whose recorded response headers show a weakness: clear sensitive data without
    ``Cache-Control: no-store``, ``Access-Control-Allow-Origin: *`` with credentials allowed, or
    the request's ``Origin`` echoed back (``min_reflected`` distinct origins, or ``null``).

    Cache-Control counts as recorded where the event's response headers have the key (a log
    format with the field writes it even when empty) or the source is one that keeps every
    response header (``complete_sources``); other sensitive responses are only counted, as
    ``unrecorded_sensitive_events``.
    """
    return _sql(db, f"""
        WITH e AS (
            SELECT e.*, s.sensitive_types,
                   lower(coalesce(try(response_headers ->> '$."cache-control"'), '')) AS cache_control,
                   response_headers IS NOT NULL AND (coalesce(try(json_exists(response_headers, '$."cache-control"')),
                       false) OR list_contains($complete, source)) AS recorded,
                   try(response_headers ->> '$."access-control-allow-origin"') AS acao,
                   lower(coalesce(try(response_headers ->> '$."access-control-allow-credentials"'), '')) = 'true'
                     AS credentials,
                   try(request_headers ->> '$.origin') AS origin
            FROM ({_EVENTS}) e LEFT JOIN ({_SENSITIVE_BY_EVENT}) s USING (event_id)
        ),
        flagged AS (
            SELECT *, sensitive_types IS NOT NULL AND recorded AND NOT contains(cache_control, 'no-store') AS cacheable,
                   acao = '*' AND credentials AS wildcard_credentials,
                   acao IS NOT NULL AND acao <> '*' AND (acao = origin OR lower(acao) = 'null') AS reflected
            FROM e
        ),
        reflecting AS (
            SELECT coalesce(host, '') AS h, method AS m, template AS t FROM flagged WHERE reflected
            GROUP BY ALL HAVING count(DISTINCT origin) >= $min_reflected OR bool_or(lower(acao) = 'null')
        ),
        unrecorded AS (
            SELECT coalesce(host, '') AS h, method AS m, template AS t, count(*) AS n FROM e
            WHERE sensitive_types IS NOT NULL AND NOT recorded GROUP BY ALL
        ),
        hits AS (
            SELECT f.*, r.h IS NOT NULL AND reflected AS echoed, coalesce(u.n, 0) AS unrecorded FROM flagged f
            LEFT JOIN reflecting r ON coalesce(f.host, '') = r.h AND f.method = r.m AND f.template = r.t
            LEFT JOIN unrecorded u ON coalesce(f.host, '') = u.h AND f.method = u.m AND f.template = u.t
        )
        SELECT {_EVIDENCE},
               list_filter([
                   CASE WHEN bool_or(cacheable) THEN 'sensitive_response_cacheable' END,
                   CASE WHEN bool_or(wildcard_credentials) THEN 'cors_wildcard_with_credentials' END,
                   CASE WHEN bool_or(echoed) THEN 'cors_origin_reflected' END
               ], lambda x: x IS NOT NULL) AS issues,
               count(*) FILTER (WHERE cacheable) AS cacheable_sensitive_events,
               {_union("sensitive_types", "cacheable")} AS sensitive_types,
               to_json(histogram(cache_control) FILTER (WHERE cacheable)) AS cache_control_seen,
               count(*) FILTER (WHERE wildcard_credentials) AS wildcard_with_credentials_events,
               count(DISTINCT origin) FILTER (WHERE echoed) AS reflected_origins,
               list_sort(list_distinct(list(origin) FILTER (WHERE echoed)))[1:{SAMPLES}] AS example_origins,
               bool_or(echoed AND credentials) AS reflected_with_credentials,
               max(unrecorded) AS unrecorded_sensitive_events,
               CASE WHEN max(unrecorded) > 0 THEN 'the source did not record Cache-Control for '
                    || max(unrecorded) || ' other sensitive responses; they were not judged' END AS note,
               CASE WHEN bool_or(echoed AND credentials) THEN 'high'
                    WHEN bool_or(cacheable OR wildcard_credentials) THEN 'medium' ELSE 'low' END AS severity
        FROM hits WHERE cacheable OR wildcard_credentials OR echoed
        GROUP BY ALL ORDER BY host, path, method
    """, {"since": since, "complete": complete_sources, "min_reflected": min_reflected, "ignored": ignored_types})


def undocumented_response_fields(
    db: duckdb.DuckDBPyConnection, since: datetime, statuses: list[str], ignored_types: list[str]
) -> pl.DataFrame:
    """Endpoints documented in a spec (``statuses``) whose drift lists undocumented top-level
    response fields, with the successful responses of the window that carried them; ``high``
    when clear sensitive data sat in one of those fields."""
    return _sql(db, f"""
        WITH ep AS (
            SELECT host AS h, method AS m, path AS t, spec_status, spec_file, operation_id,
                   list_transform(
                       list_filter(from_json(drift, '[{{"kind": "VARCHAR", "detail": "VARCHAR"}}]'),
                                   lambda d: d.kind = 'undocumented_response_field'),
                       lambda d: d.detail) AS fields
            FROM endpoints WHERE list_contains($statuses, spec_status) AND drift IS NOT NULL
        ),
        hits AS (
            SELECT e.*, ep.spec_status, ep.spec_file, ep.operation_id, ep.fields, s.sensitive_types,
                   list_intersect(ep.fields, CASE WHEN try(json_type(e.response_body)) = 'ARRAY'
                       THEN try(json_keys(e.response_body, '$[0]')) ELSE try(json_keys(e.response_body)) END)
                     AS carried,
                   list_filter(s.sensitive_pairs, lambda p: list_contains(ep.fields, p.field)) AS undocumented_sensitive
            FROM ({_EVENTS}) e JOIN ep ON coalesce(e.host, '') = ep.h AND e.method = ep.m AND e.template = ep.t
            LEFT JOIN ({_SENSITIVE_BY_EVENT}) s USING (event_id)
            WHERE len(ep.fields) > 0 AND e.status BETWEEN 200 AND 299 AND e.response_body IS NOT NULL
        )
        SELECT {_EVIDENCE},
               any_value(spec_status) AS spec_status, any_value(spec_file) AS spec_file,
               any_value(operation_id) AS operation_id,
               any_value(fields)[1:20] AS undocumented_fields,
               {_union("carried")} AS fields_seen,
               {_union("list_transform(undocumented_sensitive, lambda p: p.field)")} AS sensitive_fields,
               {_union("list_transform(undocumented_sensitive, lambda p: p.type)")} AS sensitive_types,
               CASE WHEN bool_or(len(undocumented_sensitive) > 0) THEN 'high' END AS severity
        FROM hits WHERE len(carried) > 0
        GROUP BY ALL ORDER BY host, path, method
    """, {"since": since, "statuses": statuses, "ignored": ignored_types})


#: SQL: the event's query string carried a parameter that normalisation masked as a secret.
_SECRET_IN_QUERY = "coalesce(contains(query, '=[redacted]'), false)"

#: How discovery words the drift item of an operation whose spec requires authentication and
#: that was called without credentials (``discovery.status``: kind ``auth_mismatch``).
_AUTH_REQUIRED_DRIFT = "spec requires auth"


def unauthenticated_access(
    db: duckdb.DuckDBPyConnection, since: datetime, ignored_types: list[str], min_successes: int
) -> pl.DataFrame:
    """Endpoints whose spec requires authentication (an ``auth_mismatch`` drift item: called
    without credentials though the spec requires them) that answered ``min_successes`` or more
    requests carrying no credential at all (``auth_scheme = 'none'``) with 2xx in the window.
    Requests whose source cannot show credentials (``unknown``) are counted, not judged, and so
    are requests whose query carried a secret that normalisation masked (``?access_token=``:
    a credential, in the wrong place, which ``credentials_in_url`` reports).
    ``critical`` when those answers carried clear sensitive data."""
    return _sql(db, f"""
        WITH ep AS (
            SELECT host AS h, method AS m, path AS t, spec_status, spec_file, operation_id FROM endpoints
            WHERE drift IS NOT NULL AND len(list_filter(
                from_json(drift, '[{{"kind": "VARCHAR", "detail": "VARCHAR"}}]'),
                lambda d: d.kind = 'auth_mismatch' AND contains(d.detail, $required))) > 0
        ),
        e AS (
            SELECT e.*, ep.spec_status, ep.spec_file, ep.operation_id, s.sensitive_types
            FROM ({_EVENTS}) e JOIN ep ON coalesce(e.host, '') = ep.h AND e.method = ep.m AND e.template = ep.t
            LEFT JOIN ({_SENSITIVE_BY_EVENT}) s USING (event_id)
        ),
        other AS (  -- the rest of the endpoint's traffic: refusals and requests the source cannot judge
            SELECT coalesce(host, '') AS h, method AS m, template AS t,
                   count(*) FILTER (WHERE auth_scheme = 'none' AND status IN (401, 403)) AS refused,
                   count(*) FILTER (WHERE auth_scheme IS NULL OR auth_scheme = 'unknown') AS unknown,
                   count(*) FILTER (WHERE auth_scheme = 'none' AND {_SECRET_IN_QUERY}) AS in_url
            FROM e GROUP BY ALL
        ),
        hits AS (
            SELECT e.*, o.refused, o.unknown, o.in_url FROM e
            JOIN other o ON coalesce(e.host, '') = o.h AND e.method = o.m AND e.template = o.t
            WHERE e.auth_scheme = 'none' AND e.status BETWEEN 200 AND 299 AND NOT {_SECRET_IN_QUERY}
        )
        SELECT {_EVIDENCE},
               any_value(spec_status) AS spec_status, any_value(spec_file) AS spec_file,
               any_value(operation_id) AS operation_id,
               to_json(histogram(status)) AS statuses,
               count(*) FILTER (WHERE client_zone = 'external') AS external_events,
               max(refused) AS refused_unauthenticated,
               count(*) FILTER (WHERE sensitive_types IS NOT NULL) AS sensitive_events,
               {_union("sensitive_types")} AS sensitive_types,
               max(unknown) AS unknown_auth_events,
               max(in_url) AS credential_in_url_events,
               CASE WHEN max(unknown) > 0 THEN 'the source could not show credentials for ' || max(unknown)
                    || ' other requests; they were not judged' END AS note,
               CASE WHEN count(sensitive_types) > 0 THEN 'critical' END AS severity
        FROM hits GROUP BY ALL HAVING count(*) >= $min
        ORDER BY host, path, method
    """, {"since": since, "ignored": ignored_types, "required": _AUTH_REQUIRED_DRIFT, "min": min_successes})


def basic_auth_external(db: duckdb.DuckDBPyConnection, since: datetime, zones: list[str]) -> pl.DataFrame:
    """Endpoints that received HTTP Basic credentials from clients of ``zones`` (client_zone);
    ``high`` when any of them came over plain ``http``."""
    return _sql(db, f"""
        WITH e AS ({_EVENTS})
        SELECT {_EVIDENCE},
               count(*) FILTER (WHERE scheme = 'http') AS plaintext_events,
               count(DISTINCT credential_fp) AS credentials,
               count(DISTINCT principal) AS users,
               to_json(histogram(coalesce(client_zone, 'unknown'))) AS client_zones,
               to_json(histogram(status)) AS statuses,
               CASE WHEN count(*) FILTER (WHERE scheme = 'http') > 0 THEN 'high' END AS severity
        FROM e
        WHERE auth_scheme = 'basic' AND list_contains($zones, coalesce(client_zone, 'unknown'))
        GROUP BY ALL ORDER BY host, path, method
    """, {"since": since, "zones": zones})


def server_banners(
    db: duckdb.DuckDBPyConnection, since: datetime, headers: list[str], version_pattern: str,
    bare_ok_headers: list[str], timing_headers: list[str], max_value_chars: int,
) -> pl.DataFrame:
    """Endpoints whose recorded response headers name the server or framework (``headers``,
    lower case). A header of ``bare_ok_headers`` counts only with a version number
    (``version_pattern``); the value of a ``timing_headers`` header is a duration, never a
    version. ``medium`` when a version is shown, else ``low``. Values are cut to
    ``max_value_chars``. A source that records no response headers never fires."""
    return _sql(db, f"""
        WITH e AS (
            SELECT e.*, unnest(list_filter(
                list_transform($headers, lambda h: {{'name': h, 'value': try(response_headers ->> ('$."' || h || '"'))}}),
                lambda x: x.value IS NOT NULL AND trim(x.value) <> '')) AS banner
            FROM ({_EVENTS}) e WHERE response_headers IS NOT NULL
        ),
        judged AS (
            SELECT *, banner.name AS header, left(trim(banner.value), $cut) AS shown,
                   NOT list_contains($timing, banner.name) AND regexp_matches(banner.value, $version) AS versioned
            FROM e
        ),
        hits AS (SELECT * FROM judged WHERE versioned OR NOT list_contains($bare_ok, header))
        SELECT {_EVIDENCE},
               list_sort(list_distinct(list(header))) AS headers,
               to_json(histogram(header)) AS header_events,
               list_sort(list_distinct(list(header || ': ' || shown)))[1:10] AS banners,
               count(DISTINCT event_id) FILTER (WHERE versioned) AS versioned_events,
               list_sort(list_distinct(list(source))) AS sources,
               CASE WHEN bool_or(versioned) THEN 'medium' ELSE 'low' END AS severity
        FROM hits GROUP BY ALL ORDER BY host, path, method
    """, {"since": since, "headers": headers, "version": version_pattern, "bare_ok": bare_ok_headers,
          "timing": timing_headers, "cut": max_value_chars})


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

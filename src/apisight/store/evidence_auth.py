"""Evidence queries of the authentication and credential checks: JWT weaknesses, tokens
shared by many clients, HTTP Basic from outside, unauthenticated access to endpoints whose
spec requires it, secrets in URLs and credentials over plain ``http``.

Each follows the contract of :mod:`apisight.store.findings`: one pass over the events of the
window, one row per (host, method, template) with the standard evidence columns.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl

from apisight.store.findings import (
    EVENTS,
    EVIDENCE,
    IN_URL,
    SAMPLES,
    SENSITIVE,
    SENSITIVE_BY_EVENT,
    run_sql,
    union_all,
)


def plaintext_http(db: duckdb.DuckDBPyConnection, since: datetime) -> pl.DataFrame:
    """Endpoints called over plain ``http`` by external clients, with the credentials sent that way."""
    return run_sql(db, f"""
        WITH e AS ({EVENTS})
        SELECT {EVIDENCE},
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
    or sent them in one (a redirect's ``Location``: the implicit flow's ``#access_token``),
    and query parameters that normalisation masked (``name=[redacted]``) named in
    ``credential_params`` (lower case) or matching ``credential_pattern`` in full."""
    return run_sql(db, f"""
        WITH found AS (
            SELECT template, host, method, event_id, ts, client_ip, type AS what, masked
            FROM ({SENSITIVE}) s
            WHERE ({IN_URL}) AND list_contains($types, type)
              AND NOT list_contains($exempt, lower(regexp_extract(field, '^\\$\\.([^.\\[]+)', 1)))
            UNION ALL
            SELECT template, host, method, event_id, ts, client_ip, 'param:' || lower(param) AS what, NULL AS masked
            FROM (
                SELECT template, host, method, event_id, ts, client_ip,
                       unnest(regexp_extract_all(query, '(?:^|&)([^=&]+)=\\[redacted\\]', 1)) AS param
                FROM ({EVENTS}) e WHERE contains(query, '=[redacted]')
            ) WHERE NOT list_contains($exempt, lower(param))
                AND (list_contains($params, lower(param)) OR regexp_full_match(param, $pattern))
        )
        SELECT {EVIDENCE},
               list_sort(list_distinct(list(what))) AS carried,
               list_sort(list_distinct(list(masked) FILTER (WHERE masked IS NOT NULL)))[1:{SAMPLES}]
                 AS masked_examples
        FROM found GROUP BY ALL ORDER BY host, path, method
    """, {"since": since, "types": credential_types, "exempt": exempt_params, "params": credential_params,
          "pattern": credential_pattern})


def jwt_weaknesses(db: duckdb.DuckDBPyConnection, since: datetime, max_lifetime_s: int, leeway_s: int) -> pl.DataFrame:
    """Endpoints that received weak JWTs: ``alg: none``; HS* (``hs_mixed_issuer`` when the same
    issuer also signs asymmetrically); no ``exp``; ``exp`` more than ``max_lifetime_s`` after the
    request; and 2xx answers to tokens expired more than ``leeway_s`` before the request, on
    endpoints that answered no request without credentials with 2xx (public ones ignore tokens).
    ``weaknesses`` counts events per weakness; ``severity`` is the worst one's."""
    return run_sql(db, f"""
        WITH e AS ({EVENTS}),
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
        SELECT {EVIDENCE},
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
    return run_sql(db, f"""
        WITH used AS (
            SELECT * FROM ({EVENTS}) e
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
    return run_sql(db, f"""
        WITH ep AS (
            SELECT host AS h, method AS m, path AS t, spec_status, spec_file, operation_id FROM endpoints
            WHERE drift IS NOT NULL AND len(list_filter(
                from_json(drift, '[{{"kind": "VARCHAR", "detail": "VARCHAR"}}]'),
                lambda d: d.kind = 'auth_mismatch' AND contains(d.detail, $required))) > 0
        ),
        e AS (
            SELECT e.*, ep.spec_status, ep.spec_file, ep.operation_id, s.sensitive_types
            FROM ({EVENTS}) e JOIN ep ON coalesce(e.host, '') = ep.h AND e.method = ep.m AND e.template = ep.t
            LEFT JOIN ({SENSITIVE_BY_EVENT}) s USING (event_id)
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
        SELECT {EVIDENCE},
               any_value(spec_status) AS spec_status, any_value(spec_file) AS spec_file,
               any_value(operation_id) AS operation_id,
               to_json(histogram(status)) AS statuses,
               count(*) FILTER (WHERE client_zone = 'external') AS external_events,
               max(refused) AS refused_unauthenticated,
               count(*) FILTER (WHERE sensitive_types IS NOT NULL) AS sensitive_events,
               {union_all("sensitive_types")} AS sensitive_types,
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
    return run_sql(db, f"""
        WITH e AS ({EVENTS})
        SELECT {EVIDENCE},
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

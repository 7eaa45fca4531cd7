"""Evidence queries of the data-exposure checks: sensitive data without authentication or in
URLs, internal endpoints served to the internet, verbose errors, weak security headers,
undocumented response fields and server banners.

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


def sensitive_without_auth(db: duckdb.DuckDBPyConnection, since: datetime, ignored_types: list[str]) -> pl.DataFrame:
    """Endpoints whose successful responses carried clear sensitive values to unauthenticated requests."""
    return run_sql(db, f"""
        WITH s AS ({SENSITIVE})
        SELECT {EVIDENCE},
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


def sensitive_in_url(db: duckdb.DuckDBPyConnection, since: datetime, excluded_types: list[str]) -> pl.DataFrame:
    """Endpoints whose query string or path carried clear personal or financial values, or
    that put them in a URL they sent (a redirect's ``Location``)."""
    return run_sql(db, f"""
        WITH s AS ({SENSITIVE})
        SELECT {EVIDENCE},
               list_sort(list_distinct(list(type))) AS types,
               list_sort(list_distinct(list(direction || ' ' || field)))[1:10] AS fields,
               list_sort(list_distinct(list(masked)))[1:{SAMPLES}] AS masked_examples,
               count(DISTINCT fingerprint) AS distinct_values
        FROM s
        WHERE ({IN_URL}) AND coalesce(exposure, 'clear') = 'clear'
          AND NOT list_contains($excluded, type)
        GROUP BY ALL ORDER BY host, path, method
    """, {"since": since, "excluded": excluded_types})


def exposed_endpoints(db: duckdb.DuckDBPyConnection, since: datetime, rules: pl.DataFrame) -> pl.DataFrame:
    """Endpoints matching ``rules`` (kind, template_pattern, body_pattern, owasp, severity; patterns
    are regexes, body_pattern may be null) answered with 2xx to external clients. The first
    matching rule (by its order) names the finding."""
    db.register("_exposure_rules", rules.with_row_index("rule_order"))
    try:
        return run_sql(db, f"""
            WITH e AS ({EVENTS}),
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
            SELECT {EVIDENCE},
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
        return run_sql(db, f"""
            WITH e AS ({EVENTS}),
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
            SELECT {EVIDENCE},
                   {union_all("kinds")} AS markers,
                   to_json(histogram(status)) AS statuses
            FROM hits GROUP BY ALL ORDER BY host, path, method
        """, {"since": since, "any_marker": "|".join(f"(?:{p})" for p in markers["pattern"].to_list()) or "$^"})
    finally:
        db.unregister("_error_markers")


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
    return run_sql(db, f"""
        WITH e AS (
            SELECT e.*, s.sensitive_types,
                   lower(coalesce(try(response_headers ->> '$."cache-control"'), '')) AS cache_control,
                   response_headers IS NOT NULL AND (coalesce(try(json_exists(response_headers, '$."cache-control"')),
                       false) OR list_contains($complete, source)) AS recorded,
                   try(response_headers ->> '$."access-control-allow-origin"') AS acao,
                   lower(coalesce(try(response_headers ->> '$."access-control-allow-credentials"'), '')) = 'true'
                     AS credentials,
                   try(request_headers ->> '$.origin') AS origin
            FROM ({EVENTS}) e LEFT JOIN ({SENSITIVE_BY_EVENT}) s USING (event_id)
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
        SELECT {EVIDENCE},
               list_filter([
                   CASE WHEN bool_or(cacheable) THEN 'sensitive_response_cacheable' END,
                   CASE WHEN bool_or(wildcard_credentials) THEN 'cors_wildcard_with_credentials' END,
                   CASE WHEN bool_or(echoed) THEN 'cors_origin_reflected' END
               ], lambda x: x IS NOT NULL) AS issues,
               count(*) FILTER (WHERE cacheable) AS cacheable_sensitive_events,
               {union_all("sensitive_types", "cacheable")} AS sensitive_types,
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
    return run_sql(db, f"""
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
            FROM ({EVENTS}) e JOIN ep ON coalesce(e.host, '') = ep.h AND e.method = ep.m AND e.template = ep.t
            LEFT JOIN ({SENSITIVE_BY_EVENT}) s USING (event_id)
            WHERE len(ep.fields) > 0 AND e.status BETWEEN 200 AND 299 AND e.response_body IS NOT NULL
        )
        SELECT {EVIDENCE},
               any_value(spec_status) AS spec_status, any_value(spec_file) AS spec_file,
               any_value(operation_id) AS operation_id,
               any_value(fields)[1:20] AS undocumented_fields,
               {union_all("carried")} AS fields_seen,
               {union_all("list_transform(undocumented_sensitive, lambda p: p.field)")} AS sensitive_fields,
               {union_all("list_transform(undocumented_sensitive, lambda p: p.type)")} AS sensitive_types,
               CASE WHEN bool_or(len(undocumented_sensitive) > 0) THEN 'high' END AS severity
        FROM hits WHERE len(carried) > 0
        GROUP BY ALL ORDER BY host, path, method
    """, {"since": since, "statuses": statuses, "ignored": ignored_types})


def server_banners(
    db: duckdb.DuckDBPyConnection, since: datetime, headers: list[str], version_pattern: str,
    bare_ok_headers: list[str], timing_headers: list[str], max_value_chars: int,
) -> pl.DataFrame:
    """Endpoints whose recorded response headers name the server or framework (``headers``,
    lower case). A header of ``bare_ok_headers`` counts only with a version number
    (``version_pattern``); the value of a ``timing_headers`` header is a duration, never a
    version. ``medium`` when a version is shown, else ``low``. Values are cut to
    ``max_value_chars``. A source that records no response headers never fires."""
    return run_sql(db, f"""
        WITH e AS (
            SELECT e.*, unnest(list_filter(
                list_transform($headers, lambda h: {{'name': h, 'value': try(response_headers ->> ('$."' || h || '"'))}}),
                lambda x: x.value IS NOT NULL AND trim(x.value) <> '')) AS banner
            FROM ({EVENTS}) e WHERE response_headers IS NOT NULL
        ),
        judged AS (
            SELECT *, banner.name AS header, left(trim(banner.value), $cut) AS shown,
                   NOT list_contains($timing, banner.name) AND regexp_matches(banner.value, $version) AS versioned
            FROM e
        ),
        hits AS (SELECT * FROM judged WHERE versioned OR NOT list_contains($bare_ok, header))
        SELECT {EVIDENCE},
               list_sort(list_distinct(list(header))) AS headers,
               to_json(histogram(header)) AS header_events,
               list_sort(list_distinct(list(header || ': ' || shown)))[1:10] AS banners,
               count(DISTINCT event_id) FILTER (WHERE versioned) AS versioned_events,
               list_sort(list_distinct(list(source))) AS sources,
               CASE WHEN bool_or(versioned) THEN 'medium' ELSE 'low' END AS severity
        FROM hits GROUP BY ALL ORDER BY host, path, method
    """, {"since": since, "headers": headers, "version": version_pattern, "bare_ok": bare_ok_headers,
          "timing": timing_headers, "cut": max_value_chars})

"""The kinds of log gap the log-quality audit reports: what each is, what it prevents,
and the setting that fixes it on each gateway (nginx, envoy, kong, alb) or in apisight.

Data only: :mod:`apisight.posture.log_quality` decides which gaps a stream has and
fills in their evidence from :data:`GAP_KINDS`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fix:
    """A concrete setting to change, and where (nginx, alb, envoy, kong, apisight, …)."""

    where: str
    setting: str


@dataclass(frozen=True)
class GapKind:
    """What a kind of gap is, what it prevents and how each gateway fixes it."""

    title: str
    severity: str
    prevents: str
    fixes: tuple[Fix, ...]


_XFF_NGINX = Fix(
    "nginx",
    'log_format: add "$http_x_forwarded_for"; and in the server block '
    "`set_real_ip_from <LB/CDN range>; real_ip_header X-Forwarded-For; real_ip_recursive on;` "
    "so $remote_addr becomes the client",
)

GAP_KINDS: dict[str, GapKind] = {
    "client_ip_is_proxy": GapKind(
        "client IP is a proxy, load balancer or CDN",
        "high",
        "every per-client detection (rate limits, credential stuffing, scraping, geo) sees one client; "
        "blocking the 'client' blocks everyone",
        (
            Fix(
                "apisight",
                "network.trusted_proxies: [<the proxy ranges above>] — then the client comes from "
                "X-Forwarded-For (network.forwarded_header) on the next analysis",
            ),
            _XFF_NGINX,
            Fix(
                "envoy",
                "HTTP connection manager `use_remote_address: true`, `xff_num_trusted_hops: <proxies in "
                "front>`; log %DOWNSTREAM_REMOTE_ADDRESS% and %REQ(X-FORWARDED-FOR)%",
            ),
            Fix(
                "kong",
                "kong.conf `trusted_ips = <LB/CDN ranges>`, `real_ip_header = X-Forwarded-For`, "
                "`real_ip_recursive = on`; http-log's client_ip is then the client",
            ),
            Fix(
                "alb",
                "client:port is fixed to the connecting address; behind a CDN keep "
                "`routing.http.xff_header_processing.mode = append` and log X-Forwarded-For at the target",
            ),
        ),
    ),
    "client_ip_maybe_proxy": GapKind(
        "client IP may be a proxy (few private addresses, no X-Forwarded-For logged)",
        "medium",
        "if these are proxies, every per-client detection sees a handful of clients",
        (
            _XFF_NGINX,
            Fix("envoy", "access log format: add %REQ(X-FORWARDED-FOR)% next to %DOWNSTREAM_REMOTE_ADDRESS%"),
            Fix(
                "kong",
                "http-log sends request.headers: keep x-forwarded-for in it; set trusted_ips/real_ip_header",
            ),
            Fix(
                "apisight",
                "once X-Forwarded-For is logged, set network.trusted_proxies to the proxies' ranges",
            ),
        ),
    ),
    "no_client_ip": GapKind(
        "no client IP",
        "high",
        "no per-client rate, stuffing, scraping or geo detection; incidents cannot be traced to a source",
        (
            Fix("nginx", 'log_format: add $remote_addr (and "$http_x_forwarded_for" behind a proxy)'),
            Fix(
                "envoy",
                "access log format: add %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% and %REQ(X-FORWARDED-FOR)%",
            ),
            Fix("kong", "use http-log/file-log, whose client_ip field is always present"),
            Fix("alb", "client:port is a fixed field of ALB access logs: check the reader's field mapping"),
        ),
    ),
    "no_principal": GapKind(
        "no principal (user identity) or API key",
        "high",
        "account takeover and BOLA detection limited to IP level; no per-user baselines or attribution",
        (
            Fix(
                "nginx",
                "log_format: add $remote_user, or an identity header your auth layer sets (e.g. "
                "$http_x_user_id, NGINX Plus $jwt_claim_sub); for API keys log $http_x_api_key only hashed at "
                "the edge — never log $http_authorization raw",
            ),
            Fix(
                "envoy",
                "jwt_authn `payload_in_metadata: jwt_payload`; log "
                "%DYNAMIC_METADATA(envoy.filters.http.jwt_authn:jwt_payload:sub)%",
            ),
            Fix(
                "kong",
                "enable an auth plugin (key-auth, jwt, oauth2) on the route: http-log then carries "
                "consumer.username/id and authenticated_entity",
            ),
            Fix(
                "alb",
                "ALB logs have no user field: use ALB OIDC authentication and log x-amzn-oidc-identity at the "
                "target, or log identity at the gateway behind it",
            ),
        ),
    ),
    "coarse_timestamps": GapKind(
        "timestamps only to the second",
        "medium",
        "bursts (credential stuffing, races) within a second cannot be ordered or rated; cross-source "
        "correlation is coarse",
        (
            Fix("nginx", "log_format: use $msec (epoch seconds with milliseconds) instead of $time_local"),
            Fix("envoy", "%START_TIME(%FT%T.%fZ)% (or the default %START_TIME%, which has milliseconds)"),
            Fix("kong", "http-log started_at is in milliseconds: ship it unchanged"),
            Fix("alb", "ALB timestamps have microseconds: keep the original field"),
        ),
    ),
    "no_latency": GapKind(
        "no latency",
        "low",
        "no resource-consumption (API4) or slow-endpoint analysis; timing-based enumeration invisible",
        (
            Fix("nginx", "log_format: add $request_time (and $upstream_response_time)"),
            Fix("envoy", "access log format: add %DURATION%"),
            Fix("kong", "http-log latencies.request / latencies.proxy"),
            Fix(
                "alb",
                "request_processing_time + target_processing_time + response_processing_time are fixed fields",
            ),
        ),
    ),
    "no_sizes": GapKind(
        "request or response sizes missing",
        "low",
        "no exfiltration-volume or response-size anomaly detection (excessive data exposure)",
        (
            Fix("nginx", "log_format: add $request_length and $bytes_sent (or $body_bytes_sent)"),
            Fix("envoy", "access log format: add %BYTES_RECEIVED% and %BYTES_SENT%"),
            Fix("kong", "http-log request.size and response.size"),
            Fix("alb", "received_bytes and sent_bytes are fixed fields"),
        ),
    ),
    "no_query": GapKind(
        "no query strings",
        "medium",
        "secrets and personal data in query strings go unseen; query parameters missing from the inventory",
        (
            Fix("nginx", "log $request or $request_uri, not $uri (which drops the query string)"),
            Fix("envoy", "log %REQ(:PATH)% (it includes the query string)"),
            Fix("kong", "http-log request.querystring / request.url"),
            Fix("alb", "the request field includes the query string: check the reader"),
        ),
    ),
    "no_headers": GapKind(
        "no request headers",
        "medium",
        "auth scheme, content types, CORS and security-header checks, and client fingerprinting limited",
        (
            Fix(
                "nginx",
                "log_format: add $http_content_type, $sent_http_content_type, $sent_http_cache_control, "
                "$http_origin (never $http_authorization or $http_cookie)",
            ),
            Fix("envoy", "access log format: add %REQ(CONTENT-TYPE)%, %RESP(CONTENT-TYPE)%, %REQ(ORIGIN)%"),
            Fix(
                "kong",
                "http-log sends request.headers and response.headers; strip secrets with "
                "custom_fields_by_lua",
            ),
            Fix("alb", "ALB logs only user_agent: log headers at the target"),
        ),
    ),
    "no_bodies": GapKind(
        "no request/response bodies",
        "medium",
        "sensitive-data discovery limited to URLs and query strings; no excessive-data-exposure, mass-assignment "
        "or schema checks",
        (
            Fix(
                "nginx",
                "access logs cannot hold response bodies ($request_body only for requests): mirror traffic "
                "(`mirror` directive) to a capture that writes HAR lines",
            ),
            Fix("envoy", "add the tap filter (envoy.filters.http.tap) with body capture, or ext_proc"),
            Fix(
                "kong",
                "http-log has no bodies by default: add them with custom_fields_by_lua "
                "(kong.request.get_raw_body()) or a logging plugin's log_bodies option",
            ),
            Fix("alb", "ALB never logs bodies: capture at the target or with VPC Traffic Mirroring"),
        ),
    ),
    "future_timestamps": GapKind(
        "timestamps in the future",
        "high",
        "time-window detections, retention and alert ordering run on wrong dates",
        (
            Fix("host", "synchronise the logging host's clock (NTP/chrony)"),
            Fix(
                "nginx", "log $time_iso8601 or $msec, which carry the zone/epoch, not a zone-less custom time"
            ),
            Fix("envoy", "%START_TIME% is UTC: do not reformat it with a local-time pattern"),
        ),
    ),
    "implausible_past": GapKind(
        "timestamps before 2000",
        "medium",
        "events land outside every time window: epoch-zero or mis-parsed times",
        (Fix("apisight", "check the reader's time field and format (ReaderOptions.log_format / field_map)"),),
    ),
    "clock_skew": GapKind(
        "sources of one host disagree by more than a day",
        "medium",
        "correlation across sources (LB ↔ gateway ↔ app) fails; investigations mix up periods",
        (
            Fix("host", "synchronise clocks (NTP) on every logging component"),
            Fix("apisight", "if the sources cover different periods on purpose, ignore this"),
        ),
    ),
    "timezone_offset": GapKind(
        "sources of one host are whole hours apart (time-zone suspicion)",
        "medium",
        "correlation across sources is off by hours; time-of-day baselines shift",
        (
            Fix(
                "nginx",
                "log $time_iso8601 or $time_local (both carry the offset) instead of a zone-less format",
            ),
            Fix("envoy", "keep %START_TIME% in UTC (…%fZ); never format local time without the offset"),
            Fix("host", "log in UTC or with an explicit offset everywhere"),
        ),
    ),
}

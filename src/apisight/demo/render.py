"""Turn a traffic *skeleton* into complete records: paths, bodies, sizes, ids.

A skeleton has one row per request with at least ``ts`` (µs since the epoch),
``ep`` (index into :data:`~apisight.demo.endpoints.ENDPOINTS`), ``cust`` (customer
row), ``status``, ``client_ip`` and ``user_agent``. Any template placeholder that is
also a skeleton column (``account_id``, ``username``, ``page``, ...) overrides the
default value drawn from the population. Non-null ``path`` and ``query`` columns
replace the rendered ones as they are (already URL-encoded), for requests that no
template describes (fuzzing payloads). Work is vectorised: one pass per endpoint.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from apisight.demo import bank
from apisight.demo.endpoints import ENDPOINTS
from apisight.demo.population import Population

#: Columns of a rendered traffic frame, in order.
TRAFFIC_COLUMNS = (
    "ts", "client_ip", "peer_ip", "forwarded_for", "method", "host", "scheme", "path", "query", "status",
    "latency_ms", "request_bytes", "response_bytes", "user_agent", "referer", "request_id", "authorization",
    "api_key", "request_content_type", "response_content_type", "request_body", "response_body", "label",
    "consumer", "origin", "cache_control", "cors_origin", "cors_credentials", "server", "powered_by",
)
OPTIONAL = ("peer_ip", "forwarded_for", "referer", "authorization", "api_key", "label", "consumer", "scheme",
            "origin")
CUSTOMER_VALUES = (
    "customer_id", "account_id", "iban", "balance", "card_id", "pan", "brand", "last4", "card_expiry", "name",
    "email", "phone", "dob", "address", "ssn", "username", "password", "payee_id", "payee_name", "payee_iban",
)
FLAGS = ("instant-payments", "new-onboarding", "dark-mode", "open-banking-v4", "card-controls")
ERRORS = {
    400: ("bad_request", "The request body is invalid."),
    401: ("unauthorized", "Invalid credentials."),
    403: ("forbidden", "You do not have access to this resource."),
    404: ("not_found", "Resource not found."),
    405: ("method_not_allowed", "Method not allowed."),
    409: ("conflict", "The resource was modified concurrently."),
    410: ("gone", "This version of the API has been retired."),
    422: ("unprocessable_entity", "Validation failed."),
    429: ("too_many_requests", "Rate limit exceeded, retry later."),
    500: ("internal_error", "Unexpected error."),
    502: ("bad_gateway", "Upstream returned an invalid response."),
    503: ("unavailable", "Service temporarily unavailable."),
    504: ("gateway_timeout", "Upstream timed out."),
}
#: Partner 5xx errors leak a stack trace (a "verbose errors" posture finding).
_TRACE = (
    ',"detail":"java.lang.IllegalStateException: upstream timeout\\n\\tat '
    'com.demobank.gateway.UpstreamClient.call(UpstreamClient.java:214)"'
)
_PLACEHOLDER = re.compile(r"\{([a-z_0-9]+)\}")


def template_expr(template: str) -> pl.Expr:
    """A Polars expression that fills ``{name}`` placeholders from columns."""
    parts: list[pl.Expr] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(template):
        if m.start() > pos:
            parts.append(pl.lit(template[pos : m.start()]))
        parts.append(pl.col(m.group(1)))
        pos = m.end()
    if pos < len(template):
        parts.append(pl.lit(template[pos:]))
    return pl.concat_str(parts) if len(parts) > 1 else parts[0]


def request_ids(rng: np.random.Generator, n: int) -> pl.Series:
    """``n`` random UUID-formatted request ids (deterministic for the generator)."""
    raw = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexes = pl.Series("h", np.frombuffer(raw.tobytes().hex().encode(), dtype="S32")).cast(pl.String)
    h = pl.col("h")
    frame = pl.DataFrame(hexes).select(
        pl.concat_str([h.str.slice(0, 8), h.str.slice(8, 4), h.str.slice(12, 4), h.str.slice(16, 4),
                       h.str.slice(20, 12)], separator="-").alias("request_id")
    )
    return frame["request_id"]


def complete(skeleton: pl.DataFrame) -> pl.DataFrame:
    """Add the optional skeleton columns (null) that ``skeleton`` lacks."""
    missing = [pl.lit(None, pl.String).alias(c) for c in OPTIONAL if c not in skeleton.columns]
    return skeleton.with_columns(missing) if missing else skeleton


def _values(skel: pl.DataFrame, pop: Population, rng: np.random.Generator) -> pl.DataFrame:
    n = skel.height
    cust = skel["cust"].cast(pl.Int64)
    customer = pop.customers.select(CUSTOMER_VALUES)[cust]
    day = ((skel["ts"] - bank.START_US) // bank.DAY_US).clip(0, bank.DAYS - 1)
    merchants = rng.integers(0, pop.merchants.height, (2, n))
    page = np.minimum(rng.geometric(0.45, n), 40)
    vals = customer.with_columns(
        token=pop.tokens[(day * pop.n_customers + cust)],
        payment_id=request_ids(rng, n),
        consent_id=request_ids(rng, n),
        amount=pl.Series(np.round(rng.lognormal(3.3, 1.1, n), 2)),
        amount2=pl.Series(np.round(rng.lognormal(2.8, 1.0, n), 2)),
        merchant_slug=pop.merchants["merchant_slug"][merchants[0]],
        merchant_name=pop.merchants["merchant_name"][merchants[0]],
        merchant_name2=pop.merchants["merchant_name"][merchants[1]],
        page=pl.Series(page),
        otp=pl.Series(rng.integers(0, 1_000_000, n)).cast(pl.String).str.zfill(6),
        reference=pl.concat_str(pl.lit("INV-"), pl.Series(rng.integers(100_000, 999_999, n)).cast(pl.String)),
        flag_slug=pl.Series(np.array(FLAGS)[rng.integers(0, len(FLAGS), n)]),
        request_id=request_ids(rng, n),
    )
    for name in vals.columns:  # skeleton columns override the defaults
        if name in skel.columns and name != "request_id":
            vals = vals.with_columns(pl.coalesce(skel[name].cast(vals[name].dtype), vals[name]).alias(name))
    structural = {*TRAFFIC_COLUMNS, "ep", "cust"}
    vals = vals.with_columns(skel[c] for c in skel.columns if c not in vals.columns and c not in structural)
    ts = pl.from_epoch(skel["ts"], time_unit="us")
    return vals.with_columns(
        next_page=pl.col("page") + 1,
        date=ts.dt.strftime("%Y-%m-%d"),
        month=(ts.dt.offset_by("-1mo")).dt.strftime("%Y-%m"),
    ).with_columns(pl.all().cast(pl.String))


def _error_body(host: pl.Expr) -> pl.Expr:
    status = pl.col("status")
    expr = pl.lit('{"error":"error","message":"Error."')
    for code, (name, message) in ERRORS.items():
        expr = pl.when(status == code).then(pl.lit(f'{{"error":"{name}","message":"{message}"')).otherwise(expr)
    trace = pl.when((status >= 500) & (host == bank.PARTNER_HOST)).then(pl.lit(_TRACE)).otherwise(pl.lit(""))
    return pl.concat_str([expr, trace, pl.lit(',"request_id":"'), pl.col("request_id"), pl.lit('"}')])


def _render_endpoint(part: pl.DataFrame, i: int) -> pl.DataFrame:
    ep = ENDPOINTS[i]
    ok = pl.col("status") < 400
    body: pl.Expr = pl.lit(None, pl.String)
    if ep.response_body:
        body = template_expr(ep.response_body)
        if ep.rollout_body:
            body = pl.when(pl.col("ts") >= bank.ROLLOUT_US).then(template_expr(ep.rollout_body)).otherwise(body)
    body = pl.when(pl.col("status") == 204).then(pl.lit(None, pl.String)).otherwise(body)
    error = pl.col("_error")
    if ep.trace:
        with_trace = error.str.replace(',"request_id":', ep.trace + ',"request_id":', literal=True)
        error = pl.when(pl.col("status") >= 500).then(with_trace).otherwise(error)
    json_type = pl.lit("application/json")
    return part.with_columns(
        method=pl.lit(ep.method),
        host=pl.lit(ep.host),
        path=template_expr(ep.path),
        query=template_expr(ep.query) if ep.query else pl.lit(None, pl.String),
        request_body=template_expr(ep.request_body) if ep.request_body else pl.lit(None, pl.String),
        request_content_type=pl.lit(ep.request_type) if ep.request_body else pl.lit(None, pl.String),
        response_body=pl.when(ok).then(body).otherwise(error),
        response_content_type=pl.when(ok).then(pl.lit(ep.response_type)).otherwise(json_type),
        _size=pl.lit(ep.response_size, pl.Int64),
        _median=pl.lit(float(ep.latency_ms), pl.Float64),
        _cache=pl.lit(ep.cache_control, pl.String),
        _cors=pl.lit(ep.cors, pl.String),
        _server=pl.lit(ep.server, pl.String),
        _powered_by=pl.lit(ep.powered_by, pl.String),
    )


def _cors_headers(origin: pl.Series, policy: pl.Series) -> pl.DataFrame:
    """``cors_origin`` and ``cors_credentials`` answered to browser requests (those with an Origin)."""
    frame = pl.DataFrame({"origin": origin, "policy": policy})
    allowed = (pl.when(pl.col("origin").is_null()).then(None)
               .when(pl.col("policy") == "*").then(pl.lit("*"))
               .when((pl.col("policy") == "allowlist") & (pl.col("origin") == bank.WEB_ORIGIN)).then(pl.col("origin")))
    return frame.select(cors_origin=allowed).with_columns(
        cors_credentials=pl.when(pl.col("cors_origin").is_not_null()).then(pl.lit("true")))


def _override(skel: pl.DataFrame, name: str, rendered: pl.Series) -> pl.Series:
    """The skeleton's own ``name`` values where it has them, else the rendered ones."""
    if name not in skel.columns:
        return rendered
    return pl.select(pl.coalesce(skel[name].cast(pl.String), rendered)).to_series().alias(name)


def render(skeleton: pl.DataFrame, pop: Population, rng: np.random.Generator) -> pl.DataFrame:
    """Complete records (columns :data:`TRAFFIC_COLUMNS`) for a skeleton, in skeleton order."""
    skel = complete(skeleton)
    n = skel.height
    vals = _values(skel, pop, rng)
    hosts = pl.Series([e.host for e in ENDPOINTS])[skel["ep"].cast(pl.Int64)]
    work = pl.concat([skel.select("ts", "ep", "status"), vals], how="horizontal").with_columns(
        _row=pl.int_range(n, dtype=pl.Int64)
    )
    work = work.with_columns(_error=_error_body(pl.lit(hosts)))
    parts = [_render_endpoint(p, int(p["ep"][0])) for p in work.partition_by("ep", maintain_order=True)]
    done = pl.concat(parts).sort("_row")
    jitter = pl.Series(rng.lognormal(0.0, 0.55, n))
    status = skel["status"].cast(pl.Int64)
    frame = pl.DataFrame({"status": status, "jitter": jitter, "median": done["_median"], "size": done["_size"],
                          "body": done["response_body"]})
    derived = frame.select(
        latency_ms=(pl.col("median") * pl.col("jitter")
                    * pl.when(pl.col("status") >= 500).then(4.0).when(pl.col("status") >= 400).then(0.4)
                    .otherwise(1.0)).round(3),
        response_bytes=pl.when(pl.col("body").is_not_null()).then(pl.col("body").str.len_bytes().cast(pl.Int64))
        .when((pl.col("status") < 400) & (pl.col("status") != 204)).then((pl.col("size") * pl.col("jitter"))
                                                                           .cast(pl.Int64))
        .otherwise(0),
    )
    # browsers send Origin; the bank's web app is the only origin in ordinary traffic
    referer = skel["referer"].cast(pl.String)
    origin = pl.select(pl.coalesce(skel["origin"].cast(pl.String),
                                   pl.when(referer.str.starts_with(bank.WEB_ORIGIN)).then(pl.lit(bank.WEB_ORIGIN))
                                   )).to_series().alias("origin")
    cors = _cors_headers(origin, done["_cors"])
    out = skel.with_columns(
        ts=pl.from_epoch(skel["ts"], time_unit="us").dt.replace_time_zone("UTC"),
        method=done["method"],
        host=done["host"],
        scheme=pl.coalesce(pl.col("scheme"), pl.lit("https")),
        path=_override(skel, "path", done["path"]),
        query=_override(skel, "query", done["query"]),
        status=status,
        latency_ms=skel["latency_ms"] if "latency_ms" in skel.columns else derived["latency_ms"],
        request_bytes=done["request_body"].str.len_bytes().cast(pl.Int64).fill_null(0),
        response_bytes=derived["response_bytes"],
        request_id=done["request_id"],
        request_content_type=done["request_content_type"],
        response_content_type=pl.when(status == 204).then(None).otherwise(done["response_content_type"]),
        request_body=done["request_body"],
        response_body=done["response_body"],
        peer_ip=pl.coalesce(pl.col("peer_ip"), pl.col("client_ip")),
        origin=origin,
        cache_control=done["_cache"],
        cors_origin=cors["cors_origin"],
        cors_credentials=cors["cors_credentials"],
        server=done["_server"],
        powered_by=done["_powered_by"],
    )
    return out.select(TRAFFIC_COLUMNS)

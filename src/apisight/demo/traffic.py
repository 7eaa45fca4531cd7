"""Baseline (benign) traffic skeletons for each DemoBank host, fully vectorised.

Each function returns a skeleton for :func:`apisight.demo.render.render`: one row
per request, sorted by time, with a diurnal shape, realistic callers and statuses.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from apisight.demo import bank
from apisight.demo.endpoints import ENDPOINTS, for_host, index_of
from apisight.demo.population import CLIENT_IDS, Population

ERROR_STATUSES = np.array([400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504])
ERROR_WEIGHTS = np.array([18, 8, 8, 30, 3, 8, 5, 10, 3, 5, 2], dtype=float)
ROLLOUT_PATHS = ("/v2/accounts", "/v2/accounts/{account_id}")
ROLLOUT_LABEL = "api_version_rollout"


def diurnal_times(rng: np.random.Generator, host: str, n: int, t0_us: int, t1_us: int) -> np.ndarray:
    """``n`` sorted timestamps (µs) in ``[t0_us, t1_us)`` following the host's daily shape."""
    first_hour = t0_us // bank.HOUR_US
    hours = np.arange(first_hour, -(-t1_us // bank.HOUR_US))
    weights = np.array(bank.DIURNAL[host], dtype=float)[hours % 24]
    picked = hours[rng.choice(len(hours), size=n, p=weights / weights.sum())]
    ts = picked * bank.HOUR_US + rng.integers(0, bank.HOUR_US, n)
    return np.sort(np.clip(ts, t0_us, t1_us - 1))


def _endpoints(rng: np.random.Generator, host: str, n: int) -> np.ndarray:
    idx = np.array(for_host(host))
    weights = np.array([ENDPOINTS[i].weight for i in idx])
    return idx[rng.choice(len(idx), size=n, p=weights / weights.sum())]


def statuses(rng: np.random.Generator, ep: np.ndarray) -> np.ndarray:
    """Status codes: each endpoint's success code, or an error at its error rate."""
    ok = np.array([e.ok_status for e in ENDPOINTS])[ep]
    rate = np.array([e.error_rate for e in ENDPOINTS])[ep]
    errors = rng.choice(ERROR_STATUSES, size=len(ep), p=ERROR_WEIGHTS / ERROR_WEIGHTS.sum())
    unauth = np.array([e.auth == "none" and e.tag == "auth" for e in ENDPOINTS])[ep]
    errors = np.where(unauth & (errors < 500), 401, errors)
    unthrottled = np.array([not e.rate_limited for e in ENDPOINTS])[ep]
    errors = np.where(unthrottled & (errors == 429), 503, errors)
    return np.where(rng.random(len(ep)) < rate, errors, ok)


def _bearer(pop: Population, ts: pl.Series, cust: pl.Series) -> pl.Series:
    day = ((ts - bank.START_US) // bank.DAY_US).clip(0, bank.DAYS - 1)
    return ("Bearer " + pop.tokens[day * pop.n_customers + cust]).alias("authorization")


def retail(pop: Population, rng: np.random.Generator, n: int, t0_us: int, t1_us: int) -> pl.DataFrame:
    """Mobile-app and web traffic of customers to the retail API."""
    ts = pl.Series("ts", diurnal_times(rng, bank.RETAIL_HOST, n, t0_us, t1_us))
    activity = pop.customers["activity"].to_numpy()
    cust = pl.Series("cust", rng.choice(len(activity), size=n, p=activity / activity.sum()))
    ep = _endpoints(rng, bank.RETAIL_HOST, n)
    who = pop.customers.select("device", "user_agent", "home_ip", "mobile_ip", "customer_id")[cust]
    needs_auth = pl.Series(np.array([e.auth == "bearer" for e in ENDPOINTS])[ep])
    mobile = pl.Series(rng.random(n) < 0.3) & (who["device"] != "web")
    status = statuses(rng, ep)
    rollout_eps = [index_of(bank.RETAIL_HOST, "GET", p) for p in ROLLOUT_PATHS]
    rolled = (ts >= bank.ROLLOUT_US) & pl.Series(np.isin(ep, rollout_eps)) & pl.Series(status < 400)
    return pl.DataFrame(
        {
            "ts": ts,
            "ep": ep,
            "cust": cust,
            "status": status,
            "client_ip": pl.select(pl.when(mobile).then(who["mobile_ip"]).otherwise(who["home_ip"])).to_series(),
            "user_agent": who["user_agent"],
            "referer": pl.select(pl.when(who["device"] == "web").then(pl.lit(bank.WEB_ORIGIN + "/app/"))
                                 .otherwise(None)).to_series(),
            "authorization": pl.select(pl.when(needs_auth).then(_bearer(pop, ts, cust))).to_series(),
            "consumer": who["device"].replace_strict(CLIENT_IDS),
            "label": pl.select(pl.when(rolled).then(pl.lit(ROLLOUT_LABEL))).to_series(),
        }
    )


def partner(pop: Population, rng: np.random.Generator, n: int, t0_us: int, t1_us: int) -> pl.DataFrame:
    """Open-banking partners calling the partner gateway through the edge load balancers."""
    ts = diurnal_times(rng, bank.PARTNER_HOST, n, t0_us, t1_us)
    activity = pop.partners["activity"].to_numpy()
    pid = rng.choice(len(activity), size=n, p=activity / activity.sum())
    who = pop.partners[pid]
    ep = _endpoints(rng, bank.PARTNER_HOST, n)
    client_ip = pl.select(pl.when(pl.Series(rng.random(n) < 0.5)).then(who["ip_a"]).otherwise(who["ip_b"]))
    return pl.DataFrame(
        {
            "ts": ts,
            "ep": ep,
            "cust": rng.integers(0, pop.n_customers, n),
            "status": statuses(rng, ep),
            "client_ip": client_ip.to_series(),
            "peer_ip": np.array(bank.PARTNER_EDGE_IPS)[rng.integers(0, len(bank.PARTNER_EDGE_IPS), n)],
            "forwarded_for": client_ip.to_series(),
            "user_agent": who["user_agent"],
            "api_key": who["api_key"],
            "consumer": who["partner"],
            "client_id": who["client_id"],
            "client_secret": who["client_secret"],
            "token": "at_" + who["api_key"].str.slice(8, 24),
        }
    )


def internal(pop: Population, rng: np.random.Generator, n: int, t0_us: int, t1_us: int) -> pl.DataFrame:
    """East-west calls from internal services (10.x addresses, no end-user auth)."""
    ts = diurnal_times(rng, bank.INTERNAL_HOST, n, t0_us, t1_us)
    ep = _endpoints(rng, bank.INTERNAL_HOST, n)
    names = [s[0] for s in bank.SERVICES]
    service = np.array([names.index(ENDPOINTS[i].caller or names[0]) for i in range(len(ENDPOINTS))])[ep]
    uas = np.array([s[1] for s in bank.SERVICES])[service]
    subnet = pl.Series(np.array([s[2] for s in bank.SERVICES])[service])
    pod = pl.Series(rng.integers(10, 16, n)).cast(pl.String)
    return pl.DataFrame(
        {
            "ts": ts,
            "ep": ep,
            "cust": rng.integers(0, pop.n_customers, n),
            "status": statuses(rng, ep),
            "client_ip": subnet + pod,
            "user_agent": uas,
            "consumer": np.array(names)[service],
        }
    )


BUILDERS = {bank.RETAIL_HOST: retail, bank.PARTNER_HOST: partner, bank.INTERNAL_HOST: internal}

#: A web front-end session: (seconds after the start, method, path, status, page).
_WEB_STEPS = (
    (0, "POST", "/v1/auth/login", 200), (14, "POST", "/v1/auth/mfa/verify", 200), (16, "GET", "/v2/customers/me", 200),
    (17, "GET", "/v2/accounts", 200), (25, "GET", "/v2/accounts/{account_id}", 200),
    (26, "GET", "/v2/accounts/{account_id}/transactions", 200), (48, "GET", "/v2/accounts/{account_id}/transactions", 200),
    (70, "GET", "/v2/merchants/{merchant_slug}", 200), (95, "GET", "/v2/cards", 200),
    (101, "GET", "/v2/cards/{card_id}", 200), (130, "GET", "/v2/payees", 200), (160, "POST", "/v2/payments", 422),
    (190, "POST", "/v2/payments", 201), (195, "GET", "/v2/payments/{payment_id}", 200),
    (230, "GET", "/v2/notifications", 200), (260, "GET", "/v2/accounts/{account_id}/statements/export", 200),
)


def web_session(pop: Population, rng: np.random.Generator, start_us: int) -> pl.DataFrame:
    """A browser session of one web customer (for the small HAR capture)."""
    web = np.flatnonzero(pop.customers["device"].to_numpy() == "web")
    cust = int(web[rng.integers(0, len(web))])
    eps = [index_of(bank.RETAIL_HOST, m, p) for _, m, p, _ in _WEB_STEPS]
    ts = start_us + np.array([s for s, *_ in _WEB_STEPS], dtype=np.int64) * bank.US + rng.integers(0, 900_000, len(eps))
    who = pop.customers[cust]
    auth = [e.auth == "bearer" for e in (ENDPOINTS[i] for i in eps)]
    token = _bearer(pop, pl.Series([start_us]), pl.Series([cust]))[0]
    n = len(eps)
    return pl.DataFrame(
        {
            "ts": ts,
            "ep": eps,
            "cust": [cust] * n,
            "status": [s for *_, s in _WEB_STEPS],
            "client_ip": [who["home_ip"][0]] * n,
            "user_agent": [bank.WEB_UAS[0]] * n,
            "referer": [bank.WEB_ORIGIN + "/app/"] * n,
            "authorization": [token if a else None for a in auth],
            "consumer": ["demobank-web"] * n,
            "page": [1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        }
    )

"""Scenarios made by the bank's own apps and deployments: a beta build on a shadow
endpoint, old builds on a deprecated one, a field rollout, and a retry storm."""

from __future__ import annotations

import numpy as np
import polars as pl

from apisight.demo import bank
from apisight.demo.endpoints import index_of
from apisight.demo.population import Population
from apisight.demo.scenarios.base import R, Scenario, as_customer, at, group_offsets, spread
from apisight.demo.traffic import ROLLOUT_LABEL, ROLLOUT_PATHS, _bearer

#: When the backend incident behind the retry storm starts and is fixed (hours of day 1, UTC);
#: apps opened in its first 9 minutes retry, and after the fix half their requests get through.
INCIDENT = (18.0, 18.0 + 10 / 60)


def _app_calls(pop: Population, rng: np.random.Generator, path: str, n: int, users: int,
               uas: tuple[str, ...]) -> pl.DataFrame:
    chosen = rng.choice(pop.n_customers, users, replace=False)
    cust = chosen[rng.integers(0, users, n)]
    ts = spread(rng, n, bank.START_US, bank.END_US)
    return pl.DataFrame({
        "ts": ts, "ep": index_of(R, "GET", path), "cust": cust, "status": 200,
        "client_ip": pop.customers["home_ip"].to_numpy()[cust], "user_agent": np.array(uas)[cust % len(uas)],
        "authorization": _bearer(pop, pl.Series(ts), pl.Series(cust))})


def shadow_endpoint(pop: Population, rng: np.random.Generator) -> tuple[Scenario, pl.DataFrame]:
    """A beta app build calling an endpoint that no spec documents."""
    path = "/v2/beta/spending-insights/{account_id}"
    meta = Scenario("shadow_endpoint", "shadow_endpoint", "A beta build of the iOS app calls an undocumented "
                    "insights endpoint that returns account data.", R, "endpoint", f"GET {path}",
                    (f"GET {path}",), "alert")
    return meta, _app_calls(pop, rng, path, 180, 25, (bank.BETA_APP_UA,))


def deprecated_endpoint(pop: Population, rng: np.random.Generator) -> tuple[Scenario, pl.DataFrame]:
    """Old app builds still calling the deprecated v1 profile endpoint."""
    path = "/v1/customers/me"
    meta = Scenario("deprecated_endpoint", "zombie_endpoint", "Old app builds (4.2.1) still call GET "
                    "/v1/customers/me, deprecated in favour of /v2/customers/me.", R, "endpoint", f"GET {path}",
                    (f"GET {path}",), "alert")
    return meta, _app_calls(pop, rng, path, 250, 40, bank.LEGACY_APP_UAS)


def mobile_retry_storm(pop: Population, rng: np.random.Generator) -> tuple[Scenario, pl.DataFrame]:
    """Benign: during a backend incident every open copy of one app build retries every few seconds."""
    uas = pop.customers["user_agent"].to_numpy()
    app_uas = bank.IOS_UAS + bank.ANDROID_UAS
    ua = app_uas[int(np.argmax([(uas == u).sum() for u in app_uas]))]  # the build most customers run
    users = np.flatnonzero(uas == ua)
    k = min(len(users), max(len(users) // 3, 120))  # those with the app open at the time
    cust = rng.choice(users, k, replace=False)
    tries = rng.integers(10, 41, k)
    start, resolved = at(1, INCIDENT[0]), at(1, INCIDENT[1])
    first = np.cumsum(tries) - tries
    gaps = rng.integers(2 * bank.US, 6 * bank.US, int(tries.sum()))
    gaps[first] = 0
    elapsed = np.cumsum(gaps)
    opened = rng.integers(start, start + 9 * 60 * bank.US, k)
    ts = np.repeat(opened, tries) + elapsed - np.repeat(elapsed[first], tries)
    draw = rng.random(len(ts))
    status = np.where(ts < resolved, np.where(draw < 0.06, 504, 503), np.where(draw < 0.5, 200, 503))
    ok = (status == 200).astype(np.int64)
    done_before = np.cumsum(ok) - ok
    keep = done_before == np.repeat(done_before[first], tries)  # an app stops retrying once it gets through
    paths = ("/v2/accounts", "/v2/accounts/{account_id}")
    ep = np.where(group_offsets(tries) % 2 == 0, index_of(R, "GET", paths[0]), index_of(R, "GET", paths[1]))
    who = np.repeat(cust, tries)
    on_mobile = np.repeat(rng.random(k) < 0.6, tries)
    order = np.argsort(ts[keep], kind="stable")
    ts, ep, who, status, on_mobile = (a[keep][order] for a in (ts, ep, who, status, on_mobile))
    meta = Scenario("mobile_retry_storm", "benign", f"A backend incident from 18:00 to 18:10: {k} customers on "
                    f"app build {ua.split(' ', 1)[0]} retry the account screens every few seconds (10-40 times "
                    "each) and get 503 until it is fixed (then 200).", R, "user_agent", ua,
                    tuple(f"GET {p}" for p in paths), "no_alert")
    return meta, pl.DataFrame({
        "ts": ts, "ep": ep, "cust": who, "status": status, **as_customer(pop, ts, who, ep, on_mobile)})


ROLLOUT = Scenario(
    ROLLOUT_LABEL, "api_change", "At 2026-11-26T09:30Z every client starts receiving a new field "
    "(overdraft_limit) in account responses: a deployment, not an attack.", R, "endpoint",
    "GET /v2/accounts/{account_id}", tuple(f"GET {p}" for p in ROLLOUT_PATHS), "no_alert")

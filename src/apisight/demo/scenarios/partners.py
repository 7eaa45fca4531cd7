"""Scenarios on the partner gateway: keys that take too much, and one whose big nightly
batch is routine."""

from __future__ import annotations

import numpy as np
import polars as pl

from apisight.demo import bank
from apisight.demo.endpoints import index_of
from apisight.demo.population import Population
from apisight.demo.scenarios.base import (
    OB,
    P,
    Scenario,
    as_partner,
    at,
    batch_partner,
    hourly_baseline,
    scraping_partner,
)

#: How much faster than its usual hourly rate the abusive key polls, and for how long (minutes).
VOLUME_FACTOR, VOLUME_MINUTES = 30, 40
#: Accounts whose owners consented to the nightly batch, at scale 1 (it grows with the bank).
BATCH_ACCOUNTS = 1500


def scraping(pop: Population, rng: np.random.Generator) -> tuple[Scenario, pl.DataFrame]:
    """One partner key paging through the whole merchant directory, page after page."""
    who = pop.partners[scraping_partner(pop)]
    pages = np.arange(1, pop.merchants.height // 50 + 1)
    ts = at(2, 1) + np.cumsum(rng.integers(1_500_000, 3_000_000, len(pages)))
    n = len(pages)
    meta = Scenario("scraping", "scraping", f"Partner {who['partner'][0]} pages through all {n} pages of the "
                    "merchant directory at a steady pace.", P, "api_key", who["api_key"][0],
                    ("GET /partner/v1/merchants",), "alert")
    return meta, pl.DataFrame({
        "ts": ts, "ep": index_of(P, "GET", "/partner/v1/merchants"), "cust": 0, "status": 200,
        "page": pages, "client_ip": who["ip_a"][0], "forwarded_for": who["ip_a"][0],
        "peer_ip": bank.PARTNER_EDGE_IPS[0], "user_agent": who["user_agent"][0], "api_key": who["api_key"][0],
        "consumer": who["partner"][0]})


def volume_abuse(pop: Population, rng: np.random.Generator) -> tuple[Scenario, pl.DataFrame]:
    """A mid-sized partner's key polling the balances of a handful of accounts at ~30x its usual rate."""
    activity = pop.partners["activity"].to_numpy()
    taken = {scraping_partner(pop), batch_partner(pop)}
    ranked = [int(i) for i in np.argsort(activity, kind="stable") if int(i) not in taken]
    third = len(ranked) // 3
    who = ranked[third + int(rng.integers(0, third))]
    usual = hourly_baseline(pop, P, activity[who] / activity.sum(), 14)
    n = max(200, round(VOLUME_FACTOR * usual * VOLUME_MINUTES / 60))  # an abuser does not shrink with the bank
    accounts = rng.choice(pop.n_customers, int(rng.integers(4, 7)), replace=False)
    step = VOLUME_MINUTES * 60 * bank.US // n
    ts = at(2, 14) + np.arange(n) * step + rng.integers(0, step // 4, n)
    name = pop.partners["partner"][who]
    ep = f"GET {OB}/aisp/accounts/{{account_id}}/balances"
    meta = Scenario("volume_abuse", "abnormal_volume", f"Partner {name} polls the balances of {len(accounts)} "
                    f"accounts {n} times in {VOLUME_MINUTES} minutes, about {VOLUME_FACTOR}x its usual "
                    f"{usual:.1f} requests an hour at that time of day.", P, "api_key",
                    pop.partners["api_key"][who], (ep,), "alert")
    return meta, pl.DataFrame({
        "ts": ts, "ep": index_of(P, "GET", f"{OB}/aisp/accounts/{{account_id}}/balances"),
        "cust": accounts[np.arange(n) % len(accounts)], "status": 200, **as_partner(pop, rng, who, n)})


def partner_nightly_batch(pop: Population, rng: np.random.Generator) -> tuple[Scenario, pl.DataFrame]:
    """Benign: every night 01:00-02:30 the busiest aggregator refreshes all its consented accounts."""
    who = batch_partner(pop)
    k = max(1, min(pop.n_customers // 2, round(BATCH_ACCOUNTS * pop.scale)))
    consented = rng.choice(pop.n_customers, k, replace=False)  # existing accounts, in no particular order
    balances = index_of(P, "GET", f"{OB}/aisp/accounts/{{account_id}}/balances")
    txns = index_of(P, "GET", f"{OB}/aisp/accounts/{{account_id}}/transactions")
    cust = np.concatenate([np.repeat(rng.permutation(consented), 2) for _ in range(bank.DAYS)])
    ts = np.concatenate([np.sort(rng.integers(at(d, 1), at(d, 2.5), 2 * k)) for d in range(bank.DAYS)])
    name = pop.partners["partner"][who]
    meta = Scenario("partner_nightly_batch", "benign", f"Partner {name} refreshes balances and transactions of "
                    f"the {k} accounts its users consented to, every night 01:00-02:30 in random order, all 200: "
                    "its routine, not scraping or abuse.", P, "api_key", pop.partners["api_key"][who],
                    (f"GET {OB}/aisp/accounts/{{account_id}}/balances",
                     f"GET {OB}/aisp/accounts/{{account_id}}/transactions"), "no_alert")
    n = len(ts)
    return meta, pl.DataFrame({
        "ts": ts, "ep": np.tile([balances, txns], n // 2), "cust": cust, "status": 200, "page": 1,
        **as_partner(pop, rng, who, n)})

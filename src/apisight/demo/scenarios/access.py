"""Scenarios about whose data a principal reads: enumeration, stolen tokens, and a
business customer who really owns many accounts."""

from __future__ import annotations

import numpy as np
import polars as pl

from apisight.demo import bank, values
from apisight.demo.endpoints import index_of
from apisight.demo.population import Population
from apisight.demo.scenarios.base import R, Scenario, as_customer, at, group_offsets
from apisight.demo.traffic import _bearer

#: /16s of large ISPs and hosting providers by country (each resolves to that country in
#: the GeoIP2Fast data): where a stolen token gets replayed from.
THEFT_PREFIXES = {
    "US": ("104.131", "73.12", "24.16"),
    "BR": ("189.6", "191.252", "200.147"),
    "VN": ("113.161", "14.161", "171.224"),
    "RU": ("95.24", "5.18", "178.176"),
    "NG": ("102.89", "105.112", "197.210"),
    "DE": ("88.198", "78.46", "91.64"),
}
#: Account ids of the business customer start here, above every customer's own account
#: (``population`` numbers those from 40,000,000, three apart), so no one else owns them.
BUSINESS_ACCOUNTS_FROM = 41_000_000


def bola_enumeration(pop: Population, rng: np.random.Generator) -> tuple[Scenario, pl.DataFrame]:
    """One customer walking sequential account ids; most are 403/404, a few leak (200)."""
    cust = int(rng.integers(pop.n_customers // 4, 3 * pop.n_customers // 4))
    cid = int(pop.customers["customer_id"][cust])
    own = int(pop.customers["account_id"][cust])
    ids = np.arange(own - 150, own + 250)
    owners = dict(zip(pop.customers["account_id"].to_list(), range(pop.n_customers), strict=True))
    owner = np.array([owners.get(int(i), -1) for i in ids])
    status = np.where(owner < 0, 404, np.where((owner == cust) | (ids % 10 == 0), 200, 403))
    ts = at(1, 22) + np.cumsum(rng.integers(1_500_000, 5_000_000, len(ids)))
    meta = Scenario("bola_enumeration", "bola", f"Customer {cid} requests 400 sequential account ids in "
                    "~20 minutes; most answer 403/404, some return other customers' accounts.",
                    R, "principal", str(cid), ("GET /v2/accounts/{account_id}",), "alert")
    return meta, pl.DataFrame({
        "ts": ts, "ep": index_of(R, "GET", "/v2/accounts/{account_id}"),
        "cust": np.where(owner < 0, cust, owner), "status": status, "account_id": ids,
        "client_ip": pop.customers["home_ip"][cust], "user_agent": "python-requests/2.31.0",
        "authorization": _bearer(pop, pl.Series(ts), pl.Series([cust] * len(ids))), "consumer": "demobank-web"})


def token_theft(pop: Population, rng: np.random.Generator) -> tuple[Scenario, pl.DataFrame]:
    """A customer's token of the day replayed from 25 addresses in six countries within 30 minutes."""
    cust = int(rng.integers(0, pop.n_customers))
    cid = int(pop.customers["customer_id"][cust])
    n_ips = 25
    countries = list(THEFT_PREFIXES)
    country = rng.permutation(np.arange(n_ips) % len(countries))
    prefix = [THEFT_PREFIXES[countries[c]][rng.integers(0, 3)] for c in country]
    last = rng.choice(np.arange(1, 255), n_ips, replace=False)  # distinct addresses
    addrs = np.array([f"{p}.{c}.{d}" for p, c, d in zip(prefix, rng.integers(0, 256, n_ips), last, strict=True)])
    per_ip = rng.integers(2, 7, n_ips)
    n = int(per_ip.sum())
    t0 = at(2, 16.5)
    ts = np.repeat(rng.integers(t0, t0 + 28 * 60 * bank.US, n_ips), per_ip) + rng.integers(0, 90 * bank.US, n)
    paths = ("/v2/accounts", "/v2/accounts/{account_id}/transactions", "/v2/cards/{card_id}")
    ep = np.array([index_of(R, "GET", p) for p in paths])[rng.choice(3, n, p=[0.4, 0.4, 0.2])]
    order = np.argsort(ts, kind="stable")
    ts, ep, ip = ts[order], ep[order], np.repeat(addrs, per_ip)[order]
    who = np.full(n, cust)
    meta = Scenario("token_theft", "account_takeover", f"Customer {cid}'s session token of the day is replayed "
                    f"from {n_ips} public addresses in {len(countries)} countries within 30 minutes, reading "
                    "accounts, transactions and cards; the customer's own app stays at home.", R, "principal",
                    str(cid), tuple(f"GET {p}" for p in paths), "alert")
    return meta, pl.DataFrame({
        "ts": ts, "ep": ep, "cust": who, "status": 200, **as_customer(pop, ts, who, ep), "client_ip": ip})


def business_customer(pop: Population, rng: np.random.Generator) -> tuple[Scenario, pl.DataFrame]:
    """Benign: a business customer reads the 40 accounts it owns over a working day (all 200)."""
    web = np.flatnonzero(pop.customers["device"].to_numpy() == "web")
    cust = int(web[rng.integers(0, len(web))])
    cid = int(pop.customers["customer_id"][cust])
    k = 40
    account = BUSINESS_ACCOUNTS_FROM + np.sort(rng.choice(5_000_000, k, replace=False))
    iban = np.array(values.ibans(rng, k, ("GB",)))
    balance = np.array([f"{v:.2f}" for v in rng.lognormal(10, 1.3, k)])
    listing = index_of(R, "GET", "/v2/accounts")
    detail = index_of(R, "GET", "/v2/accounts/{account_id}")
    txns = index_of(R, "GET", "/v2/accounts/{account_id}/transactions")
    eps, which, times = [], [], []
    for start, read in ((8.6, k), (12.2, int(rng.integers(12, 25))), (16.4, int(rng.integers(12, 25)))):
        picked = rng.permutation(k)[:read]
        rows = 1 + (rng.random(read) < 0.5)  # the account, then its transactions half of the time
        eps.append(np.concatenate([[listing], np.where(group_offsets(rows) == 0, detail, txns)]))
        which.append(np.concatenate([[0], np.repeat(picked, rows)]))
        times.append(at(1, start) + np.cumsum(rng.integers(2, 25, 1 + int(rows.sum()))) * bank.US)
    ep, pos, ts = np.concatenate(eps), np.concatenate(which), np.concatenate(times)
    who = np.full(len(ep), cust)
    company = f"{pop.customers['last_name'][cust]} & Partners Ltd"
    meta = Scenario("business_customer", "benign", f"Business customer {cid} ({company}) reads the {k} accounts "
                    "it owns, in three sessions over a working day; every answer is 200 and is its own account.",
                    R, "principal", str(cid), ("GET /v2/accounts", "GET /v2/accounts/{account_id}",
                                               "GET /v2/accounts/{account_id}/transactions"), "no_alert")
    return meta, pl.DataFrame({
        "ts": ts, "ep": ep, "cust": who, "status": 200, **as_customer(pop, ts, who, ep),
        "account_id": account[pos], "iban": iban[pos], "balance": balance[pos], "name": company})

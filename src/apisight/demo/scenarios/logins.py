"""Scenarios on the login endpoint: stuffing, brute force, takeover, and their benign twins."""

from __future__ import annotations

import numpy as np
import polars as pl

from apisight.demo import bank, tokens, values
from apisight.demo.endpoints import index_of
from apisight.demo.population import HOME_PREFIXES, Population, ips
from apisight.demo.scenarios.base import (
    R,
    Scenario,
    as_customer,
    at,
    endpoint_share,
    hourly_baseline,
    only_where,
    spread,
)

LOGIN = (R, "POST", "/v1/auth/login")
STUFFING_UA = "python-requests/2.31.0"
LOW_SLOW_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36"
)
ATTACKER_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0"
#: Logins in the marketing campaign's hour, relative to that hour's usual count.
CAMPAIGN_SPIKE = 5
#: Share of logins that fail (mistyped passwords) in ordinary traffic.
LOGIN_FAILURE_RATE = 0.08


def _leaked_emails(rng: np.random.Generator, n: int) -> list[str]:
    who = values.people(rng, n)
    return [e.replace(".", "_", 1).replace("@", "x@") for e in who["email"]]


def _logins(pop: Population, rng: np.random.Generator, ts: np.ndarray, real_share: float,
            success: float) -> dict[str, object]:
    n = len(ts)
    leaked = _leaked_emails(rng, n)
    cust = rng.integers(0, pop.n_customers, n)
    real = rng.random(n) < real_share
    usernames = np.where(real, pop.customers["email"].to_numpy()[cust], np.array(leaked))
    status = np.where(real & (rng.random(n) < success), 200, 401)
    return {"ts": ts, "ep": index_of(*LOGIN), "cust": cust, "status": status, "username": usernames,
            "password": values.passwords(rng, n)}


def credential_stuffing(pop: Population, rng: np.random.Generator) -> tuple[Scenario, pl.DataFrame]:
    """One small address range trying hundreds of leaked usernames on the login endpoint."""
    n = 600
    rows = _logins(pop, rng, spread(rng, n, at(0, 2.15), at(0, 2.85)), 0.15, 0.12)
    rows["status"] = np.where(np.arange(n) >= n - 40, 429, np.asarray(rows["status"]))
    rows.update(client_ip=[f"203.0.113.{x}" for x in rng.integers(10, 26, n)], user_agent=STUFFING_UA)
    meta = Scenario("credential_stuffing", "credential_stuffing",
                    "600 login attempts with leaked usernames from 16 addresses of one range in 40 minutes.",
                    R, "ip_range", "203.0.113.0/27", ("POST /v1/auth/login",), "alert")
    return meta, pl.DataFrame(rows)


def distributed_stuffing(pop: Population, rng: np.random.Generator) -> tuple[Scenario, pl.DataFrame]:
    """Low-and-slow stuffing: hundreds of residential addresses, 1-3 tries each, one user agent."""
    addrs = ips(rng, HOME_PREFIXES, 350)
    tries = rng.integers(1, 4, len(addrs))
    client_ip = np.repeat(np.array(addrs), tries)
    rows = _logins(pop, rng, spread(rng, len(client_ip), at(1, 0), at(1, 20)), 0.1, 0.1)
    rows.update(client_ip=client_ip, user_agent=LOW_SLOW_UA)
    meta = Scenario("distributed_stuffing", "credential_stuffing",
                    "Low-and-slow stuffing: 350 residential addresses, 1-3 tries each over 20 hours, "
                    "all with the same outdated browser user agent.",
                    R, "user_agent", LOW_SLOW_UA, ("POST /v1/auth/login",), "alert")
    return meta, pl.DataFrame(rows).sample(fraction=1.0, shuffle=True, seed=int(rng.integers(1 << 30)))


def brute_force(pop: Population, rng: np.random.Generator) -> tuple[Scenario, pl.DataFrame]:
    """One address guessing the password of one account until it is locked."""
    n, cust = 240, int(rng.integers(0, pop.n_customers))
    email = pop.customers["email"][cust]
    ts = spread(rng, n, at(1, 14), at(1, 14.5))
    meta = Scenario("brute_force", "brute_force", f"240 password guesses against {email} from one address; "
                    "the account locks after 200 (429).", R, "username", email, ("POST /v1/auth/login",), "alert")
    return meta, pl.DataFrame({
        "ts": ts, "ep": index_of(*LOGIN), "cust": cust, "status": np.where(np.arange(n) < 200, 401, 429),
        "username": email, "password": values.passwords(rng, n), "client_ip": "198.51.100.77",
        "user_agent": "Mozilla/4.0 (compatible; Hydra)"})


def account_takeover(pop: Population, rng: np.random.Generator) -> tuple[Scenario, pl.DataFrame]:
    """Failed logins then a success from a new address, then profile change, new payee, payment."""
    cust = int(rng.integers(0, pop.n_customers))
    cid = int(pop.customers["customer_id"][cust])
    t0 = at(2, 3.2)
    steps = [("POST", "/v1/auth/login", 401)] * 6 + [
        ("POST", "/v1/auth/login", 200), ("POST", "/v1/auth/mfa/verify", 200), ("GET", "/v2/customers/me", 200),
        ("PATCH", "/v2/customers/me", 200), ("GET", "/v2/accounts", 200), ("POST", "/v2/payees", 201),
        ("POST", "/v2/payments", 201), ("GET", "/v2/accounts", 200)]
    ts = t0 + np.cumsum(rng.integers(4, 40, len(steps))) * bank.US
    login_s = int(ts[6] // bank.US)
    token = tokens.sign(tokens.session_claims(cid, "demobank-web", login_s, login_s + 3600))
    after = np.arange(len(steps)) >= 7
    n = len(steps)
    mule_iban = values.ibans(rng, 1, ("DE",))[0]
    meta = Scenario("account_takeover", "account_takeover",
                    f"Customer {cid}: 6 failed logins then a success from a new address and browser, then "
                    "e-mail change, a new payee and a large payment.", R, "customer_id", str(cid),
                    ("POST /v1/auth/login", "PATCH /v2/customers/me", "POST /v2/payees", "POST /v2/payments"),
                    "alert")
    return meta, pl.DataFrame({
        "ts": ts, "ep": [index_of(R, m, p) for m, p, _ in steps], "cust": cust,
        "status": [s for *_, s in steps], "client_ip": "198.51.100.23", "user_agent": ATTACKER_UA,
        "authorization": [f"Bearer {token}" if a else None for a in after],
        "username": pop.customers["email"][cust], "password": values.passwords(rng, n), "token": token,
        "email": [f"recovery.{cid}@mail.example" if a else None for a in after],
        "payee_name": "Quick Cash Services", "payee_iban": mule_iban, "amount": "4950.00"})


def forgetful_user(pop: Population, rng: np.random.Generator) -> tuple[Scenario, pl.DataFrame]:
    """Benign: five mistyped passwords from the usual home address and app, then a login and browsing."""
    cust = int(rng.integers(0, pop.n_customers))
    email = pop.customers["email"][cust]
    steps = [("POST", "/v1/auth/login", 401)] * 5 + [
        ("POST", "/v1/auth/login", 200), ("POST", "/v1/auth/mfa/verify", 200), ("GET", "/v2/accounts", 200),
        ("GET", "/v2/accounts/{account_id}", 200), ("GET", "/v2/accounts/{account_id}/transactions", 200),
        ("GET", "/v2/accounts/{account_id}/transactions", 200), ("GET", "/v2/cards", 200)]
    n = len(steps)
    gaps = np.concatenate([rng.integers(8, 35, 6), rng.integers(3, 60, n - 6)])  # typing, then reading
    ts = at(1, 7.8) + np.cumsum(gaps) * bank.US
    ep = np.array([index_of(R, m, p) for m, p, _ in steps])
    status = np.array([s for *_, s in steps])
    who = np.full(n, cust)
    wrong = values.passwords(rng, n)
    meta = Scenario("forgetful_user", "benign", f"{email} mistypes the password 5 times from their usual home "
                    "address and app, then logs in and browses their accounts: not a brute force.",
                    R, "username", email, ("POST /v1/auth/login",), "no_alert")
    return meta, pl.DataFrame({
        "ts": ts, "ep": ep, "cust": who, "status": status, **as_customer(pop, ts, who, ep),
        "password": only_where(status == 401, wrong)})


def marketing_spike(pop: Population, rng: np.random.Generator) -> tuple[Scenario, pl.DataFrame]:
    """Benign: a campaign brings distinct real customers to log in and look at their accounts at once."""
    login = index_of(*LOGIN)
    usual = hourly_baseline(pop, R, endpoint_share(R, login), 12)
    k = int(min(pop.n_customers // 2, max(10, round((CAMPAIGN_SPIKE - 1) * usual))))
    cust = rng.choice(pop.n_customers, k, replace=False)
    arrive = at(2, 12) + (np.minimum(rng.exponential(14 * 60, k), 55 * 60) * bank.US).astype(np.int64)
    failed = rng.random(k) < LOGIN_FAILURE_RATE
    signed_in = arrive + np.where(failed, rng.integers(10, 40, k), 0) * bank.US
    mfa = signed_in + rng.integers(8, 25, k) * bank.US
    listed = mfa + rng.integers(2, 6, k) * bank.US
    detail = listed + rng.integers(3, 20, k) * bank.US
    txns = detail + rng.integers(4, 40, k) * bank.US
    everyone = np.ones(k, dtype=bool)
    steps = [(failed, arrive, "POST", "/v1/auth/login", 401), (everyone, signed_in, "POST", "/v1/auth/login", 200),
             (everyone, mfa, "POST", "/v1/auth/mfa/verify", 200), (everyone, listed, "GET", "/v2/accounts", 200),
             (rng.random(k) < 0.7, detail, "GET", "/v2/accounts/{account_id}", 200),
             (rng.random(k) < 0.6, txns, "GET", "/v2/accounts/{account_id}/transactions", 200)]
    person = np.concatenate([np.flatnonzero(mask) for mask, *_ in steps])
    ts = np.concatenate([t[mask] for mask, t, *_ in steps])
    ep = np.concatenate([np.full(int(mask.sum()), index_of(R, m, p)) for mask, _, m, p, _ in steps])
    status = np.concatenate([np.full(int(mask.sum()), s) for mask, *_, s in steps])
    order = np.argsort(ts, kind="stable")
    person, ts, ep, status = person[order], ts[order], ep[order], status[order]
    on_mobile = (rng.random(k) < 0.3)[person]
    wrong = np.array(values.passwords(rng, len(ts)))
    meta = Scenario("marketing_spike", "benign", f"A campaign: {k} distinct customers log in between 12:00 and "
                    f"13:00 (about {CAMPAIGN_SPIKE}x the usual logins, ~{LOGIN_FAILURE_RATE:.0%} mistyped) from "
                    "their usual addresses and apps, then look at their accounts.", R, "endpoint",
                    "POST /v1/auth/login", ("POST /v1/auth/login", "POST /v1/auth/mfa/verify", "GET /v2/accounts",
                                            "GET /v2/accounts/{account_id}",
                                            "GET /v2/accounts/{account_id}/transactions"), "no_alert")
    return meta, pl.DataFrame({
        "ts": ts, "ep": ep, "cust": cust[person], "status": status,
        **as_customer(pop, ts, cust[person], ep, on_mobile),
        "password": only_where(status == 401, wrong)})

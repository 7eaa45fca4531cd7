"""Labelled abuse (and one benign change) injected into the DemoBank traffic.

Each builder returns a :class:`Scenario` (what a detector should conclude) and a
skeleton of the scenario's requests, every row labelled with the scenario name.
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt
import numpy as np
import polars as pl

from apisight.demo import bank, values
from apisight.demo.endpoints import index_of
from apisight.demo.population import HOME_PREFIXES, Population, ips
from apisight.demo.traffic import ROLLOUT_LABEL, ROLLOUT_PATHS, _bearer

R = bank.RETAIL_HOST
LOGIN = (R, "POST", "/v1/auth/login")
STUFFING_UA = "python-requests/2.31.0"
LOW_SLOW_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36"
)
ATTACKER_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0"


@dataclass(frozen=True)
class Scenario:
    """Ground truth for one labelled scenario (times come from its rendered records)."""

    name: str
    kind: str
    description: str
    host: str
    entity_kind: str
    entity_value: str
    endpoints: tuple[str, ...]
    expected: str  # alert | no_alert


def _at(day: int, hour: float) -> int:
    return bank.START_US + day * bank.DAY_US + int(hour * bank.HOUR_US)


def _spread(rng: np.random.Generator, n: int, t0: int, t1: int) -> np.ndarray:
    return np.sort(rng.integers(t0, t1, n))


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
    rows = _logins(pop, rng, _spread(rng, n, _at(0, 2.15), _at(0, 2.85)), 0.15, 0.12)
    rows["status"] = np.where(np.arange(n) >= n - 40, 429, rows["status"])
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
    rows = _logins(pop, rng, _spread(rng, len(client_ip), _at(1, 0), _at(1, 20)), 0.1, 0.1)
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
    ts = _spread(rng, n, _at(1, 14), _at(1, 14.5))
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
    t0 = _at(2, 3.2)
    steps = [("POST", "/v1/auth/login", 401)] * 6 + [
        ("POST", "/v1/auth/login", 200), ("POST", "/v1/auth/mfa/verify", 200), ("GET", "/v2/customers/me", 200),
        ("PATCH", "/v2/customers/me", 200), ("GET", "/v2/accounts", 200), ("POST", "/v2/payees", 201),
        ("POST", "/v2/payments", 201), ("GET", "/v2/accounts", 200)]
    ts = t0 + np.cumsum(rng.integers(4, 40, len(steps))) * bank.US
    login_s = int(ts[6] // bank.US)
    token = jwt.encode({"sub": str(cid), "iss": bank.JWT_ISSUER, "client_id": "demobank-web", "iat": login_s,
                        "exp": login_s + 3600, "scope": "accounts payments"}, bank.JWT_SECRET, algorithm="HS256")
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


def bola_enumeration(pop: Population, rng: np.random.Generator) -> tuple[Scenario, pl.DataFrame]:
    """One customer walking sequential account ids; most are 403/404, a few leak (200)."""
    cust = int(rng.integers(pop.n_customers // 4, 3 * pop.n_customers // 4))
    cid = int(pop.customers["customer_id"][cust])
    own = int(pop.customers["account_id"][cust])
    ids = np.arange(own - 150, own + 250)
    owners = dict(zip(pop.customers["account_id"].to_list(), range(pop.n_customers), strict=True))
    owner = np.array([owners.get(int(i), -1) for i in ids])
    status = np.where(owner < 0, 404, np.where((owner == cust) | (ids % 10 == 0), 200, 403))
    ts = _at(1, 22) + np.cumsum(rng.integers(1_500_000, 5_000_000, len(ids)))
    meta = Scenario("bola_enumeration", "bola", f"Customer {cid} requests 400 sequential account ids in "
                    "~20 minutes; most answer 403/404, some return other customers' accounts.",
                    R, "principal", str(cid), ("GET /v2/accounts/{account_id}",), "alert")
    return meta, pl.DataFrame({
        "ts": ts, "ep": index_of(R, "GET", "/v2/accounts/{account_id}"),
        "cust": np.where(owner < 0, cust, owner), "status": status, "account_id": ids,
        "client_ip": pop.customers["home_ip"][cust], "user_agent": "python-requests/2.31.0",
        "authorization": _bearer(pop, pl.Series(ts), pl.Series([cust] * len(ids))), "consumer": "demobank-web"})


def scraping(pop: Population, rng: np.random.Generator) -> tuple[Scenario, pl.DataFrame]:
    """One partner key paging through the whole merchant directory, page after page."""
    who = pop.partners[-1]
    pages = np.arange(1, pop.merchants.height // 50 + 1)
    ts = _at(2, 1) + np.cumsum(rng.integers(1_500_000, 3_000_000, len(pages)))
    n = len(pages)
    meta = Scenario("scraping", "scraping", f"Partner {who['partner'][0]} pages through all {n} pages of the "
                    "merchant directory at a steady pace.", bank.PARTNER_HOST, "api_key", who["api_key"][0],
                    ("GET /partner/v1/merchants",), "alert")
    return meta, pl.DataFrame({
        "ts": ts, "ep": index_of(bank.PARTNER_HOST, "GET", "/partner/v1/merchants"), "cust": 0, "status": 200,
        "page": pages, "client_ip": who["ip_a"][0], "forwarded_for": who["ip_a"][0],
        "peer_ip": bank.PARTNER_EDGE_IPS[0], "user_agent": who["user_agent"][0], "api_key": who["api_key"][0],
        "consumer": who["partner"][0]})


def _app_calls(pop: Population, rng: np.random.Generator, path: str, n: int, users: int,
               uas: tuple[str, ...]) -> pl.DataFrame:
    chosen = rng.choice(pop.n_customers, users, replace=False)
    cust = chosen[rng.integers(0, users, n)]
    ts = _spread(rng, n, bank.START_US, bank.END_US)
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


ROLLOUT = Scenario(
    ROLLOUT_LABEL, "api_change", "At 2026-11-26T09:30Z every client starts receiving a new field "
    "(overdraft_limit) in account responses: a deployment, not an attack.", R, "endpoint",
    "GET /v2/accounts/{account_id}", tuple(f"GET {p}" for p in ROLLOUT_PATHS), "no_alert")

BUILDERS = (credential_stuffing, distributed_stuffing, brute_force, account_takeover, bola_enumeration,
            scraping, shadow_endpoint, deprecated_endpoint)

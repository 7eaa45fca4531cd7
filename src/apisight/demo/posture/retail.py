"""Posture weaknesses planted on the retail API (HAR lines: full URLs, headers and bodies),
each beside a clean look-alike.

Every builder takes the population and its own generator and returns its labels and a
skeleton of the requests it adds (see :mod:`apisight.demo.render`). The requests are few
and unremarkable in behaviour, so the behavioural detectors have nothing to say about them.
"""

from __future__ import annotations

import base64

import numpy as np
import polars as pl

from apisight.demo import bank, tokens
from apisight.demo.endpoints import index_of
from apisight.demo.population import CLOUD_PREFIXES, HOME_PREFIXES, MOBILE_PREFIXES, Population, ips
from apisight.demo.posture.labels import CLEAN, FINDING, Plant, PostureLabel
from apisight.demo.scenarios.base import R, as_customer, at, spread
from apisight.demo.traffic import _bearer
from apisight.demo.values import hex_ids

LOAD_BALANCERS = ("10.0.1.5", "10.0.2.5")
HEALTH_CHECK_UA = "ELB-HealthChecker/2.0"
#: Where someone replays forged ``alg: none`` tokens from.
FORGER_IP = "198.51.100.91"
FORGER_UA = "python-requests/2.32.3"
#: An app build too old for any API version the bank still serves.
RETIRED_APP_UA = "DemoBank/3.9.2 (iPhone; iOS 14.8; Scale/2.00)"


def _customers(pop: Population, rng: np.random.Generator, n: int, ep: int, t0: int = bank.START_US,
               t1: int = bank.END_US, web_only: bool = False) -> pl.DataFrame:
    """``n`` requests to ``ep`` from random customers' own apps (their token on bearer endpoints)."""
    pool = np.flatnonzero(pop.customers["device"].to_numpy() == "web") if web_only else np.arange(pop.n_customers)
    cust = rng.choice(pool, n)
    ts = spread(rng, n, t0, t1)
    eps = np.full(n, ep)
    return pl.DataFrame({"ts": ts, "ep": eps, "cust": cust, "status": 200, **as_customer(pop, ts, cust, eps)})


def _masked(pans: pl.Series) -> pl.Series:
    """Card numbers as receipts print them: first six, asterisks, last four."""
    return pl.select(pl.concat_str([pans.str.slice(0, 6), pl.lit("******"), pans.str.slice(-4)])).to_series()


def receipts(pop: Population, rng: np.random.Generator) -> Plant:
    """Public receipt links: one prints the full card number and the payer's e-mail, its
    look-alike (a paid payment link) only a masked card number."""
    parts = []
    for path, param in (("/v2/receipts/{receipt_id}", "receipt_id"), ("/v2/payment-links/{link_id}", "link_id")):
        n = 60
        cust = rng.integers(0, pop.n_customers, n)
        parts.append(pl.DataFrame({
            "ts": spread(rng, n, bank.START_US, bank.END_US), "ep": index_of(R, "GET", path), "cust": cust,
            "status": 200, "client_ip": ips(rng, HOME_PREFIXES + MOBILE_PREFIXES, n),
            "user_agent": np.array(bank.WEB_UAS)[rng.integers(0, len(bank.WEB_UAS), n)],
            param: hex_ids(rng, n),
            "masked_pan": _masked(pop.customers["pan"][cust])}))
    return [
        PostureLabel("sensitive_data_without_auth", R, "GET", "/v2/receipts/{receipt_id}", FINDING,
                     "public receipt link shows the full card number and the payer's e-mail"),
        PostureLabel("sensitive_data_without_auth", R, "GET", "/v2/payment-links/{link_id}", CLEAN,
                     "public payment link shows only a masked card number"),
        PostureLabel("sensitive_data_without_auth", R, "POST", "/v1/auth/login", CLEAN,
                     "public login answers with an access token, which is what it is for"),
    ], pl.concat(parts, how="diagonal_relaxed")


def plaintext(pop: Population, rng: np.random.Generator) -> Plant:
    """Old app builds fetch their start-up config over plain http, bearer token included; the
    load balancers' health checks use http too, but from the internal network."""
    n = 45
    users = rng.choice(pop.n_customers, 15, replace=False)
    cust = users[rng.integers(0, len(users), n)]
    ts = spread(rng, n, bank.START_US, bank.END_US)
    config = pl.DataFrame({
        "ts": ts, "ep": index_of(R, "GET", "/v1/app-config"), "cust": cust, "status": 200, "scheme": "http",
        "client_ip": pop.customers["home_ip"].to_numpy()[cust],
        "user_agent": np.array(bank.LEGACY_APP_UAS)[cust % len(bank.LEGACY_APP_UAS)],
        "authorization": _bearer(pop, pl.Series(ts), pl.Series(cust))})
    every = 15 * 60 * bank.US
    probes = np.arange(bank.START_US, bank.END_US, every)
    probes = np.sort(np.concatenate([probes, probes]) + rng.integers(0, 5 * bank.US, 2 * len(probes)))
    health = pl.DataFrame({
        "ts": probes, "ep": index_of(R, "GET", "/healthz"), "cust": 0, "status": 200, "scheme": "http",
        "client_ip": np.array(LOAD_BALANCERS)[np.arange(len(probes)) % 2], "user_agent": HEALTH_CHECK_UA})
    return [
        PostureLabel("plaintext_http", R, "GET", "/v1/app-config", FINDING,
                     "app builds 4.2.1 call it over http from home networks, bearer token included"),
        PostureLabel("plaintext_http", R, "GET", "/healthz", CLEAN,
                     "only the load balancers call it over http, from 10.0.0.0/8"),
    ], pl.concat([config, health], how="diagonal_relaxed")


def statement_links(pop: Population, rng: np.random.Generator) -> Plant:
    """Statement downloads: the web app puts the access token in the link's query string; the
    look-alike is a pre-signed link (expiry and signature, no credential)."""
    download = _customers(pop, rng, 30, index_of(R, "GET", "/v2/statements/{statement_id}/download"), web_only=True)
    download = download.with_columns(access_token=pl.col("authorization").str.strip_prefix("Bearer "),
                                     authorization=pl.lit(None, pl.String),
                                     statement_id=pl.Series(hex_ids(rng, 30)))
    signed = _customers(pop, rng, 30, index_of(R, "GET", "/v2/statements/{statement_id}/file"), web_only=True)
    signed = signed.with_columns(
        statement_id=pl.Series(hex_ids(rng, 30)),
        expires=(pl.col("ts") // bank.US + 300).cast(pl.String),
        signature=pl.Series(_hex(rng, 30, 32)))
    return [
        PostureLabel("credentials_in_url", R, "GET", "/v2/statements/{statement_id}/download", FINDING,
                     "the web app sends the access token as ?access_token="),
        PostureLabel("credentials_in_url", R, "GET", "/v2/statements/{statement_id}/file", CLEAN,
                     "pre-signed link: ?expires=&signature=, no credential"),
        PostureLabel("unauthenticated_access", R, "GET", "/v2/statements/{statement_id}/download", CLEAN,
                     "no Authorization header, but the access token travels in ?access_token="),
    ], pl.concat([download, signed], how="diagonal_relaxed")


def lookups(pop: Population, rng: np.random.Generator) -> Plant:
    """Confirmation of payee puts the full IBAN in the query string; the card lookup puts only
    a masked card number there."""
    payee = _customers(pop, rng, 40, index_of(R, "GET", "/v2/payee-lookup"))
    card = _customers(pop, rng, 40, index_of(R, "GET", "/v2/card-lookup"))
    card = card.with_columns(masked_pan=_masked(pop.customers["pan"][card["cust"]]))
    return [
        PostureLabel("sensitive_data_in_url", R, "GET", "/v2/payee-lookup", FINDING, "?iban= carries a full IBAN"),
        PostureLabel("sensitive_data_in_url", R, "GET", "/v2/card-lookup", CLEAN,
                     "?card_number= carries a masked card number"),
        PostureLabel("credentials_in_url", R, "GET", "/v2/card-lookup", CLEAN,
                     "a masked card number in the query is no credential"),
    ], pl.concat([payee, card], how="diagonal_relaxed")


def standing_orders(pop: Population, rng: np.random.Generator) -> Plant:
    """Creating a standing order fails now and then with a Python traceback in the body;
    listing them fails as often, with the bank's generic error."""
    parts = []
    for method in ("POST", "GET"):
        rows = _customers(pop, rng, 80, index_of(R, method, "/v2/standing-orders"))
        ok = 201 if method == "POST" else 200
        parts.append(rows.with_columns(status=pl.when(pl.int_range(pl.len()) % 8 == 3).then(500).otherwise(ok)))
    return [
        PostureLabel("verbose_errors", R, "POST", "/v2/standing-orders", FINDING,
                     "its 500 answers carry a Python traceback and a psycopg2 error"),
        PostureLabel("verbose_errors", R, "GET", "/v2/standing-orders", CLEAN,
                     "its 500 answers carry the generic error body"),
    ], pl.concat(parts, how="diagonal_relaxed")


def rewards(pop: Population, rng: np.random.Generator) -> Plant:
    """The rewards service accepts forged ``alg: none`` tokens and the offers endpoint accepts
    yesterday's expired ones; savings goals (new, used by the beta app build) refuses expired
    tokens with 401."""
    balance = _customers(pop, rng, 80, index_of(R, "GET", "/v2/rewards"))
    victims = rng.choice(pop.n_customers, 8, replace=False)
    forged_ts = np.sort(rng.integers(at(1, 15), at(1, 16), 8))
    forged = pl.DataFrame({
        "ts": forged_ts, "ep": index_of(R, "GET", "/v2/rewards"), "cust": victims, "status": 200,
        "client_ip": FORGER_IP, "user_agent": FORGER_UA,
        "authorization": ["Bearer " + tokens.unsigned(tokens.session_claims(
            int(pop.customers["customer_id"][int(c)]), "demobank-web", int(t // bank.US) - 60,
            int(t // bank.US) + 3600)) for c, t in zip(victims, forged_ts, strict=True)]})
    parts = [balance, forged]
    for path, stale_status in (("/v2/rewards/offers", 200), ("/v2/savings-goals", 401)):
        ep = index_of(R, "GET", path)
        fresh = _customers(pop, rng, 60, ep)
        if path == "/v2/savings-goals":
            fresh = fresh.with_columns(user_agent=pl.lit(bank.BETA_APP_UA))
        stale = _customers(pop, rng, 15, ep, at(1, 8), at(2, 20))
        yesterday = stale["ts"] - bank.DAY_US  # the app kept yesterday's token, expired at midnight
        parts += [fresh, stale.with_columns(status=pl.lit(stale_status),
                                            authorization=_bearer(pop, yesterday, stale["cust"]))]
    return [
        PostureLabel("jwt_weaknesses", R, "GET", "/v2/rewards", FINDING, "accepts forged alg:none tokens (200)"),
        PostureLabel("jwt_weaknesses", R, "GET", "/v2/rewards/offers", FINDING,
                     "answers 200 to tokens that expired the midnight before"),
        PostureLabel("jwt_weaknesses", R, "GET", "/v2/savings-goals", CLEAN,
                     "refuses the same expired tokens with 401"),
        PostureLabel("jwt_weaknesses", R, "GET", "/v2/accounts", CLEAN,
                     "EdDSA session tokens that expire at the end of the day they are used"),
        PostureLabel("shadow_endpoint", R, "GET", "/v2/savings-goals", CLEAN,
                     "new, called by the beta app build like the insights endpoint, but documented"),
    ], pl.concat(parts, how="diagonal_relaxed")


def token_refresh(pop: Population, rng: np.random.Generator) -> Plant:
    """A buggy app build refreshes its token 45 times in 50 s and the refresh endpoint never
    throttles; an app stuck in a login loop does the same at the login, which answers 429."""
    refresh_ep = index_of(R, "POST", "/v1/auth/token/refresh")
    routine = _customers(pop, rng, 120, refresh_ep)
    looping = int(rng.integers(0, pop.n_customers))
    t0 = at(2, 9.4)
    burst_ts = t0 + np.sort(rng.integers(0, 50 * bank.US, 45))
    burst = pl.DataFrame({"ts": burst_ts, "ep": refresh_ep, "cust": looping, "status": 200,
                          **as_customer(pop, burst_ts, np.full(45, looping), np.full(45, refresh_ep))})
    refresh = pl.concat([routine, burst], how="diagonal_relaxed")
    refresh = refresh.with_columns(refresh_token=pl.Series(["rt_" + h for h in _hex(rng, refresh.height, 20)]))
    stuck = int(rng.integers(0, pop.n_customers))
    login_ep = index_of(R, "POST", "/v1/auth/login")
    login_ts = at(0, 19.2) + np.sort(rng.integers(0, 45 * bank.US, 36))
    login = pl.DataFrame({"ts": login_ts, "ep": login_ep, "cust": stuck,
                          "status": np.where(np.arange(36) < 8, 200, 429),
                          **as_customer(pop, login_ts, np.full(36, stuck), np.full(36, login_ep))})
    return [
        PostureLabel("no_rate_limiting", R, "POST", "/v1/auth/token/refresh", FINDING,
                     "45 refreshes in 50 s from one address, never a 429"),
        PostureLabel("no_rate_limiting", R, "POST", "/v1/auth/login", CLEAN,
                     "36 logins in 45 s from one address; the limiter answers 429 after 8"),
    ], pl.concat([refresh, login], how="diagonal_relaxed")


def payee_details(pop: Population, rng: np.random.Generator) -> Plant:
    """The payee detail serialises the whole record: the full IBAN and internal fields the
    spec leaves out (it documents the last four digits only)."""
    rows = _customers(pop, rng, 60, index_of(R, "GET", "/v2/payees/{payee_id}"))
    rows = rows.with_columns(payee_last4=pop.customers["payee_iban"][rows["cust"]].str.slice(-4))
    return [
        PostureLabel("excessive_data_exposure", R, "GET", "/v2/payees/{payee_id}", FINDING,
                     "returns iban, risk_score and created_by, which the spec does not document"),
        PostureLabel("excessive_data_exposure", R, "GET", "/v2/payments/{payment_id}", CLEAN,
                     "returns exactly the documented fields"),
    ], rows


def retired_version(pop: Population, rng: np.random.Generator) -> Plant:
    """A very old app build still calls the v1 account list, which the gateway has retired:
    every call is answered 410 Gone, as the zombie check's remediation asks."""
    rows = _customers(pop, rng, 20, index_of(R, "GET", "/v1/accounts"))
    rows = rows.with_columns(status=pl.lit(410), user_agent=pl.lit(RETIRED_APP_UA))
    return [PostureLabel("zombie_endpoint", R, "GET", "/v1/accounts", CLEAN,
                         "v1 with a documented v2, but retired: every call is answered 410 Gone")], rows


def open_route(pop: Population, rng: np.random.Generator) -> Plant:
    """The gateway route for direct debits lost its auth plugin: app builds that call it before
    login (no token) are answered 200; scheduled payments, called the same way, answer 401."""
    parts = []
    for path, open_status in (("/v2/direct-debits", 200), ("/v2/scheduled-payments", 401)):
        ep = index_of(R, "GET", path)
        signed_in = _customers(pop, rng, 30, ep)
        anonymous = _customers(pop, rng, 10, ep).with_columns(status=pl.lit(open_status),
                                                              authorization=pl.lit(None, pl.String))
        parts += [signed_in, anonymous]
    return [
        PostureLabel("unauthenticated_access", R, "GET", "/v2/direct-debits", FINDING,
                     "the spec requires a bearer token; requests without one are answered 200"),
        PostureLabel("unauthenticated_access", R, "GET", "/v2/scheduled-payments", CLEAN,
                     "the spec requires a bearer token; requests without one are answered 401"),
        PostureLabel("unauthenticated_access", R, "GET", "/v2/payment-links/{link_id}", CLEAN,
                     "answered 200 without credentials, and the spec documents it as public (security: [])"),
    ], pl.concat(parts, how="diagonal_relaxed")


#: The accounting-software vendor's servers, and the bank's own reconciliation batch hosts.
ACCOUNTING_USER = "acme-books"
RECONCILIATION_HOSTS = ("10.0.3.21", "10.0.3.22")


def accounting(pop: Population, rng: np.random.Generator) -> Plant:
    """An accounting-software vendor pulls transaction exports from the internet with HTTP Basic
    (a shared user and password, over https); the bank's reconciliation batch uses Basic too,
    but only from inside 10.0.0.0/8."""
    n = 24
    export = pl.DataFrame({
        "ts": spread(rng, n, bank.START_US, bank.END_US), "ep": index_of(R, "GET", "/v2/accounting/export"),
        "cust": rng.integers(0, pop.n_customers, n), "status": 200, "client_ip": ips(rng, CLOUD_PREFIXES, n),
        "user_agent": "AcmeBooks-Sync/2.3", "authorization": _basic(ACCOUNTING_USER, _hex(rng, 1, 12)[0])})
    nightly = np.array([at(d, 2.0) for d in range(bank.DAYS)]) + rng.integers(0, 60 * bank.US, bank.DAYS)
    ts = np.sort(np.concatenate([nightly + k * 60 * bank.US for k in range(4)]))
    reconciliation = pl.DataFrame({
        "ts": ts, "ep": index_of(R, "GET", "/v2/accounting/reconciliation"), "cust": 0, "status": 200,
        "client_ip": np.array(RECONCILIATION_HOSTS)[np.arange(len(ts)) % 2], "user_agent": "recon-batch/1.4",
        "authorization": _basic("recon-batch", _hex(rng, 1, 12)[0])})
    return [
        PostureLabel("basic_auth_over_internet", R, "GET", "/v2/accounting/export", FINDING,
                     "an accounting vendor's cloud servers send Authorization: Basic from the internet"),
        PostureLabel("basic_auth_over_internet", R, "GET", "/v2/accounting/reconciliation", CLEAN,
                     "Basic credentials from the reconciliation batch inside 10.0.0.0/8 only"),
    ], pl.concat([export, reconciliation], how="diagonal_relaxed")


def locators(pop: Population, rng: np.random.Generator) -> Plant:
    """The branch finder (a Node service behind its own nginx) answers with
    ``Server: nginx/1.18.0 (Ubuntu)`` and ``X-Powered-By: Express``; the ATM finder's nginx
    has ``server_tokens off`` (``Server: nginx``)."""
    parts = []
    for path in ("/v2/branches", "/v2/atms"):
        n = 25
        parts.append(pl.DataFrame({
            "ts": spread(rng, n, bank.START_US, bank.END_US), "ep": index_of(R, "GET", path),
            "cust": rng.integers(0, pop.n_customers, n), "status": 200,
            "client_ip": ips(rng, HOME_PREFIXES + MOBILE_PREFIXES, n),
            "user_agent": np.array(bank.WEB_UAS)[rng.integers(0, len(bank.WEB_UAS), n)]}))
    return [
        PostureLabel("server_banners", R, "GET", "/v2/branches", FINDING,
                     "Server: nginx/1.18.0 (Ubuntu) and X-Powered-By: Express"),
        PostureLabel("server_banners", R, "GET", "/v2/atms", CLEAN, "Server: nginx, no version"),
        PostureLabel("server_banners", R, "GET", "/v2/accounts", CLEAN, "no Server or X-Powered-By header"),
    ], pl.concat(parts, how="diagonal_relaxed")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _hex(rng: np.random.Generator, n: int, nbytes: int) -> list[str]:
    raw = rng.integers(0, 256, (n, nbytes), dtype=np.uint8).tobytes().hex()
    return [raw[i * 2 * nbytes:(i + 1) * 2 * nbytes] for i in range(n)]


BUILDERS = (receipts, plaintext, statement_links, lookups, standing_orders, rewards, token_refresh, payee_details,
            retired_version, open_route, accounting, locators)

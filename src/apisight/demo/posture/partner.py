"""Posture weaknesses planted on the partner gateway (nginx access log: URI, status,
forwarded client address and API key; no bodies and no response headers)."""

from __future__ import annotations

import numpy as np
import polars as pl

from apisight.demo import bank
from apisight.demo.endpoints import index_of
from apisight.demo.population import CLOUD_PREFIXES, Population, ips
from apisight.demo.posture.labels import ANY, CLEAN, FINDING, Plant, PostureLabel
from apisight.demo.scenarios.base import OB, P, as_partner, at, batch_partner, scraping_partner, spread

#: Internet scanners that find the actuator the gateway routes by mistake.
SCANNERS = (("45.155.205.233", "Mozilla/5.0 zgrab/0.x"), ("185.220.101.47", "curl/8.4.0"),
            ("194.26.192.64", "Mozilla/5.0 (compatible; CensysInspect/1.1)"), ("80.82.77.139", "python-httpx/0.27.0"))


def quiet_partners(pop: Population) -> list[int]:
    """Partner rows by activity, least active first, without those the behavioural scenarios use
    (the volume-abuse key is drawn from the middle third, so the quietest are free)."""
    taken = {scraping_partner(pop), batch_partner(pop)}
    order = np.argsort(pop.partners["activity"].to_numpy(), kind="stable")
    return [int(i) for i in order if int(i) not in taken]


def _partner_rows(pop: Population, rng: np.random.Generator, who: int, n: int, ep: int) -> pl.DataFrame:
    ts = spread(rng, n, bank.START_US, bank.END_US)
    return pl.DataFrame({"ts": ts, "ep": ep, "cust": rng.integers(0, pop.n_customers, n), "status": 200,
                         **as_partner(pop, rng, who, n)})


def key_in_url(pop: Population, rng: np.random.Generator) -> Plant:
    """One partner's legacy integration sends its API key as ``?api_key=`` instead of the header."""
    who = quiet_partners(pop)[0]
    rows = _partner_rows(pop, rng, who, 40, index_of(P, "GET", "/partner/v1/fx-rates"))
    rows = rows.with_columns(query=pl.lit("base=GBP&api_key=" + pop.partners["api_key"][who]),
                             api_key=pl.lit(None, pl.String))
    return [PostureLabel("credentials_in_url", P, "GET", "/partner/v1/fx-rates", FINDING,
                         "a legacy integration passes its API key as ?api_key=")], rows


def customer_search(pop: Population, rng: np.random.Generator) -> Plant:
    """A KYC partner looks customers up by e-mail address in the query string."""
    who = quiet_partners(pop)[1]
    rows = _partner_rows(pop, rng, who, 30, index_of(P, "GET", "/partner/v1/customers/search"))
    return [PostureLabel("sensitive_data_in_url", P, "GET", "/partner/v1/customers/search", FINDING,
                         "?email= carries customers' e-mail addresses")], rows


def actuator(pop: Population, rng: np.random.Generator) -> Plant:
    """The gateway routes Spring's /actuator/env to the internet; scanners find it (200)."""
    n = 7
    which = np.arange(n) % len(SCANNERS)
    ts = spread(rng, n, at(1, 3), at(2, 22))
    edge = np.array(bank.PARTNER_EDGE_IPS)[rng.integers(0, len(bank.PARTNER_EDGE_IPS), n)]
    addr = np.array([s[0] for s in SCANNERS])[which]
    rows = pl.DataFrame({"ts": ts, "ep": index_of(P, "GET", "/actuator/env"), "cust": 0, "status": 200,
                         "client_ip": addr, "forwarded_for": addr, "peer_ip": edge,
                         "user_agent": np.array([s[1] for s in SCANNERS])[which]})
    internal = bank.INTERNAL_HOST
    return [
        PostureLabel("internal_endpoint_exposed", P, "GET", "/actuator/env", FINDING,
                     "Spring actuator answered 200 to internet scanners"),
        PostureLabel("shadow_endpoint", P, "GET", "/actuator/env", FINDING, "called and in no spec"),
        PostureLabel("internal_endpoint_exposed", internal, "GET", "/admin/v1/users", CLEAN,
                     "admin endpoint, called only by the admin console inside 10.0.0.0/8"),
        PostureLabel("internal_endpoint_exposed", bank.RETAIL_HOST, "GET", "/admin/v1/users", CLEAN,
                     "admin path asked for from outside, always refused with 403 (the BFLA probe)"),
    ], rows


def server_fleet(pop: Population, rng: np.random.Generator) -> Plant:
    """A partner runs its integration on an autoscaling fleet: one API key from 14 addresses."""
    who = quiet_partners(pop)[2]
    fleet = ips(rng, CLOUD_PREFIXES, 14)
    n = 84
    rows = _partner_rows(pop, rng, who, n, index_of(P, "GET", f"{OB}/aisp/accounts"))
    addr = np.array(fleet)[np.arange(n) % len(fleet)]
    rows = rows.with_columns(client_ip=pl.Series(addr), forwarded_for=pl.Series(addr))
    return [PostureLabel("token_shared_by_many_clients", P, ANY, ANY, CLEAN,
                         "one partner's API key from 14 server addresses: a fleet, not a shared bearer token")], rows


BUILDERS = (key_in_url, customer_search, actuator, server_fleet)

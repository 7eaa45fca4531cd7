"""What every scenario builder shares: the :class:`Scenario` record, time helpers and
the columns of requests sent by a customer's own app or by a partner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from apisight.demo import bank
from apisight.demo.endpoints import ENDPOINTS, for_host
from apisight.demo.population import CLIENT_IDS, Population
from apisight.demo.traffic import _bearer

R = bank.RETAIL_HOST
P = bank.PARTNER_HOST
OB = "/open-banking/v3.1"


@dataclass(frozen=True)
class Scenario:
    """Ground truth for one labelled scenario (times come from its rendered records).

    ``kind`` is the detector that should (``expected="alert"``) or should not
    (``"no_alert"``) raise an alert about the entity ``entity_kind``/``entity_value``;
    benign look-alikes have kind ``benign``.
    """

    name: str
    kind: str
    description: str
    host: str
    entity_kind: str
    entity_value: str
    endpoints: tuple[str, ...]
    expected: str  # alert | no_alert


#: A scenario builder: the population and the builder's own generator in, ground truth and skeleton out.
Builder = Callable[[Population, np.random.Generator], tuple[Scenario, pl.DataFrame]]


def at(day: int, hour: float) -> int:
    """Microseconds since the epoch of ``hour`` (UTC) on day ``day`` (0, 1 or 2) of the demo."""
    return bank.START_US + day * bank.DAY_US + int(hour * bank.HOUR_US)


def spread(rng: np.random.Generator, n: int, t0: int, t1: int) -> np.ndarray:
    """``n`` sorted random instants in ``[t0, t1)``."""
    return np.sort(rng.integers(t0, t1, n))


def hourly_baseline(pop: Population, host: str, share: float, hour: int) -> float:
    """Expected baseline requests in one ``hour`` of the day for a caller or endpoint with ``share`` of ``host``."""
    records = int(int(bank.BASE_RECORDS * pop.scale) * bank.HOST_SHARE[host])
    weights = bank.DIURNAL[host]
    return records * share * weights[hour] / (bank.DAYS * sum(weights))


def endpoint_share(host: str, ep: int) -> float:
    """The share of ``host``'s baseline requests that go to endpoint ``ep``."""
    return ENDPOINTS[ep].weight / sum(ENDPOINTS[i].weight for i in for_host(host))


def group_offsets(counts: np.ndarray) -> np.ndarray:
    """Position of each row within its group, for groups of ``counts`` consecutive rows."""
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(int(counts.sum())) - starts


def only_where(mask: np.ndarray, values: np.ndarray | list[str]) -> pl.Series:
    """``values`` where ``mask`` holds, null elsewhere (a skeleton override for some rows only)."""
    return pl.select(pl.when(pl.Series(mask)).then(pl.Series(values))).to_series()


def as_customer(pop: Population, ts: np.ndarray, cust: np.ndarray, ep: np.ndarray,
                on_mobile: np.ndarray | None = None) -> dict[str, object]:
    """Columns of requests sent by customers' own apps: their address (mobile network where
    ``on_mobile``), user agent, client id, web referer and that day's token on bearer endpoints."""
    who = pop.customers.select("device", "user_agent", "home_ip", "mobile_ip")[cust]
    mobile = np.zeros(len(cust), dtype=bool) if on_mobile is None else on_mobile
    mobile = mobile & (who["device"] != "web").to_numpy()
    bearer = np.array([e.auth == "bearer" for e in ENDPOINTS])[ep]
    token = _bearer(pop, pl.Series(ts), pl.Series(cust))
    return {
        "client_ip": np.where(mobile, who["mobile_ip"].to_numpy(), who["home_ip"].to_numpy()),
        "user_agent": who["user_agent"],
        "consumer": who["device"].replace_strict(CLIENT_IDS),
        "referer": pl.select(pl.when(who["device"] == "web").then(pl.lit(bank.WEB_ORIGIN + "/app/"))).to_series(),
        "authorization": pl.select(pl.when(pl.Series(bearer)).then(token)).to_series(),
    }


def as_partner(pop: Population, rng: np.random.Generator, who: int, n: int) -> dict[str, object]:
    """Columns of ``n`` requests from partner row ``who``'s servers through the edge load balancers."""
    partner = pop.partners[who]
    edge = np.array(bank.PARTNER_EDGE_IPS)[rng.integers(0, len(bank.PARTNER_EDGE_IPS), n)]
    return {"client_ip": partner["ip_a"][0], "forwarded_for": partner["ip_a"][0], "peer_ip": edge,
            "user_agent": partner["user_agent"][0], "api_key": partner["api_key"][0],
            "consumer": partner["partner"][0]}


def scraping_partner(pop: Population) -> int:
    """The partner row whose key scrapes the merchant directory."""
    return pop.partners.height - 1


def batch_partner(pop: Population) -> int:
    """The partner row that runs the nightly account-information batch: the busiest aggregator."""
    activity = pop.partners["activity"].to_numpy().copy()
    activity[scraping_partner(pop)] = -1
    return int(np.argmax(activity))

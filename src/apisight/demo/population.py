"""DemoBank's people and machines: customers, partners, merchants, JWT sessions.

Built once per seed (a few thousand rows each); traffic picks rows by index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import polars as pl

from apisight.demo import bank, tokens, values

HOME_PREFIXES = ("81.2", "86.12", "92.40", "109.144", "82.132", "90.214", "151.224", "2.24", "94.174", "77.97")
MOBILE_PREFIXES = ("31.94", "148.252", "176.24", "213.205")
CLOUD_PREFIXES = ("34.89", "52.56", "35.176", "3.8", "18.132", "20.77", "13.40")
DEVICES = ("ios", "android", "web")
CLIENT_IDS = {"ios": "demobank-ios", "android": "demobank-android", "web": "demobank-web"}


@dataclass(frozen=True)
class Population:
    """Everyone who sends traffic to DemoBank, as small Polars frames."""

    customers: pl.DataFrame
    partners: pl.DataFrame
    merchants: pl.DataFrame
    #: JWT of customer ``c`` on day ``d`` is ``tokens[d * n_customers + c]``.
    tokens: pl.Series
    #: The demo's size factor (baseline records are ``bank.BASE_RECORDS * scale``).
    scale: float = 1.0

    @property
    def n_customers(self) -> int:
        return self.customers.height


def ips(rng: np.random.Generator, prefixes: tuple[str, ...], n: int) -> list[str]:
    """``n`` addresses drawn from ``prefixes`` (each a /16 written as ``a.b``)."""
    pre = rng.choice(prefixes, n)
    c, d = rng.integers(0, 256, n), rng.integers(1, 255, n)
    return [f"{p}.{x}.{y}" for p, x, y in zip(pre, c, d, strict=True)]


def slug(text: str) -> str:
    """Lower-case ASCII slug of ``text``."""
    return re.sub(r"[^a-z0-9]+", "-", values._ascii(text).lower()).strip("-")


def _customers(rng: np.random.Generator, n: int) -> pl.DataFrame:
    who = values.people(rng, n)
    payees = values.people(rng, n)
    pans, brands = values.card_numbers(rng, n)
    device = rng.choice(len(DEVICES), n, p=[0.45, 0.4, 0.15])
    ua_pool = (bank.IOS_UAS, bank.ANDROID_UAS, bank.WEB_UAS)
    month, year = rng.integers(1, 13, n), rng.integers(27, 32, n)
    return pl.DataFrame(
        {
            "customer_id": np.arange(n, dtype=np.int64) + 1_000_000,
            "account_id": 40_000_000 + 3 * np.arange(n, dtype=np.int64) + rng.integers(0, 3, n),
            "iban": values.ibans(rng, n, ("GB",)),
            "balance": [f"{v:.2f}" for v in rng.lognormal(7.5, 1.2, n)],
            "card_id": values.hex_ids(rng, n),
            "pan": pans,
            "brand": brands,
            "last4": [p[-4:] for p in pans],
            "card_expiry": [f"{m:02d}/{y}" for m, y in zip(month, year, strict=True)],
            **who,
            "username": who["email"],
            "phone": values.phones(rng, n),
            "dob": values.dates_of_birth(rng, n),
            "ssn": values.ssns(rng, n),
            "password": values.passwords(rng, n),
            "payee_id": values.hex_ids(rng, n),
            "payee_name": payees["name"],
            "payee_iban": values.ibans(rng, n, ("GB", "DE", "FR")),
            "device": [DEVICES[d] for d in device],
            "user_agent": [ua_pool[d][rng.integers(0, 3)] for d in device],
            "home_ip": ips(rng, HOME_PREFIXES, n),
            "mobile_ip": ips(rng, MOBILE_PREFIXES, n),
            "activity": rng.pareto(1.5, n) + 0.2,
        }
    )


def _partners(rng: np.random.Generator, n: int) -> pl.DataFrame:
    names = [f"{a}{b}" for b in bank.PARTNER_WORDS_B for a in bank.PARTNER_WORDS_A][:n]
    order = rng.permutation(len(names))
    names = [names[i] for i in order]
    return pl.DataFrame(
        {
            "partner": [slug(x) for x in names],
            "partner_name": [f"{x} Ltd" for x in names],
            "partner_id": values.hex_ids(rng, n),
            "api_key": ["pk_live_" + h for h in values.hex_ids(rng, n, uuid=False)],
            "client_id": ["cli_" + h[:16] for h in values.hex_ids(rng, n, uuid=False)],
            "client_secret": ["cs_" + h for h in values.hex_ids(rng, n, uuid=False)],
            "ip_a": ips(rng, CLOUD_PREFIXES, n),
            "ip_b": ips(rng, CLOUD_PREFIXES, n),
            "user_agent": rng.choice(bank.PARTNER_UAS, n).tolist(),
            "activity": rng.pareto(1.2, n) + 0.3,
        }
    )


def _merchants(rng: np.random.Generator, n: int) -> pl.DataFrame:
    brand = rng.integers(0, len(values.MERCHANT_BRANDS), n)
    city = rng.integers(0, len(values.CITIES), n)
    names = [f"{values.MERCHANT_BRANDS[b]} {values.CITIES[c][0]}" for b, c in zip(brand, city, strict=True)]
    return pl.DataFrame(
        {"merchant_slug": [f"{slug(x)}-{i}" for i, x in enumerate(names)], "merchant_name": names}
    )


def session_tokens(customers: pl.DataFrame) -> pl.Series:
    """One signed JWT per customer per day (the session the day's requests carry).

    Issued in the hour before the day starts and valid until it ends, so no request
    carries an expired token or one with more than a day left.
    """
    out = []
    ids = customers["customer_id"].to_list()
    devices = customers["device"].to_list()
    for day in range(bank.DAYS):
        day_start = bank.START_US // bank.US + day * 86_400
        for i, (cid, device) in enumerate(zip(ids, devices, strict=True)):
            claims = tokens.session_claims(cid, CLIENT_IDS[device], day_start - 3600 + i % 1800, day_start + 86_400)
            out.append(tokens.sign(claims))
    return pl.Series("token", out)


def build_population(seed: int, scale: float = 1.0) -> Population:
    """The customers (about 4,000 x ``scale``), partners (36) and merchants (20,000)."""
    rng = np.random.default_rng([seed, 1])
    n_customers = int(min(20_000, max(300, 4_000 * scale)))
    customers = _customers(rng, n_customers)
    return Population(
        customers=customers,
        partners=_partners(rng, 36),
        merchants=_merchants(rng, 20_000),
        tokens=session_tokens(customers),
        scale=scale,
    )

"""Country and autonomous system of client addresses, from the offline database that
ships with ``geoip2fast`` (no download at run time).

Looked up once per distinct address; private, reserved and documentation ranges have
no country (``None``).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import polars as pl

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _database() -> Any | None:
    try:
        from geoip2fast import GeoIP2Fast

        return GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn.dat.gz", verbose=False)
    except Exception as e:  # noqa: BLE001 - geo is an enrichment: without it detectors see less, not nothing
        log.warning("offline GeoIP database unavailable (%s): country/ASN enrichment is off", e)
        return None


def available() -> bool:
    return _database() is not None


def lookup(ips: pl.Series) -> pl.DataFrame:
    """``client_ip, country, asn`` for each distinct address in ``ips``."""
    unique = ips.drop_nulls().unique()
    db = _database()
    countries: list[str | None] = []
    asns: list[str | None] = []
    for ip in unique.to_list():
        country = asn = None
        if db is not None:
            try:
                r = db.lookup(ip)
                code = getattr(r, "country_code", "") or ""
                country = code if len(code) == 2 and code != "--" else None
                asn = getattr(r, "asn_name", "") or None
            except Exception:  # noqa: BLE001, S110 - an odd address has no geo, it does not stop detection
                pass
        countries.append(country)
        asns.append(asn)
    return pl.DataFrame({"client_ip": unique, "country": countries, "asn": asns},
                        schema={"client_ip": pl.String, "country": pl.String, "asn": pl.String})

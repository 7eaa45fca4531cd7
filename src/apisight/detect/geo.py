"""Network, country and autonomous system of client addresses.

Country and AS come from the offline database that ships with ``geoip2fast`` (no
download at run time); private, reserved and documentation ranges have none. The
network is the address's /24 (IPv4) or /64 (IPv6), from the parsed address, so every
way of writing one IPv6 network is one network. Looked up once per distinct address.
"""

from __future__ import annotations

import ipaddress
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


#: Addresses already looked up (network, country, AS); bounded, cleared when full.
_CACHE: dict[str, tuple[str | None, str | None, str | None]] = {}
_CACHE_MAX = 100_000  # about 50 MB of Python strings


def network(ip: str) -> str | None:
    """``a.b.c.0/24`` or ``x:x:x:x::/64`` (compressed, lower-case) for an address; None if it is none."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _one(db: Any, ip: str) -> tuple[str | None, str | None, str | None]:
    net = network(ip)
    if db is None or net is None:
        return net, None, None
    try:
        r = db.lookup(ip)
    except Exception:  # noqa: BLE001 - an odd address has no geo, it does not stop detection
        return net, None, None
    code = getattr(r, "country_code", "") or ""
    return net, (code if len(code) == 2 and code != "--" else None), (getattr(r, "asn_name", "") or None)


def lookup(ips: pl.Series) -> pl.DataFrame:
    """``client_ip, ip_net, country, asn`` for each distinct address in ``ips``."""
    unique = ips.drop_nulls().unique().to_list()
    db = _database()
    if len(_CACHE) + len(unique) > _CACHE_MAX:
        _CACHE.clear()
    found = []
    for ip in unique:
        hit = _CACHE.get(ip) if db is not None else None
        if hit is None:
            hit = _one(db, ip)
            if db is not None:
                _CACHE[ip] = hit
        found.append(hit)
    return pl.DataFrame(
        {"client_ip": unique, "ip_net": [f[0] for f in found], "country": [f[1] for f in found],
         "asn": [f[2] for f in found]},
        schema={"client_ip": pl.String, "ip_net": pl.String, "country": pl.String, "asn": pl.String},
    )

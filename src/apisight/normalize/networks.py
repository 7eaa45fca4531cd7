"""Which side of the perimeter a client is on, for whole columns at once.

IPv4 addresses are compared as integers against the configured ranges in Polars; the
rare IPv6 address is checked once per distinct value with :mod:`ipaddress`.
"""

from __future__ import annotations

import ipaddress

import polars as pl

from apisight.normalize.clientip import parse_ip

INTERNAL = "internal"
EXTERNAL = "external"


def client_zone(ips: pl.Series, networks: list[str]) -> pl.Series:
    """``internal`` for addresses in ``networks``, ``external`` for others, null if unknown.

    Each distinct address is classified once.
    """
    distinct = ips.unique()
    if distinct.len() < ips.len():
        zones = pl.DataFrame({"ip": distinct, "zone": _zones(distinct, networks)})
        return ips.to_frame("ip").join(zones, on="ip", how="left", nulls_equal=True, maintain_order="left")[
            "zone"
        ].alias("client_zone")
    return _zones(ips, networks)


def _zones(ips: pl.Series, networks: list[str]) -> pl.Series:
    parsed = [ipaddress.ip_network(n, strict=False) for n in networks]
    v4 = [n for n in parsed if n.version == 4]
    octets = pl.col("ip").str.split_exact(".", 3)
    parts = [octets.struct.field(f"field_{i}").cast(pl.Int64, strict=False) for i in range(4)]
    four_parts = pl.col("ip").str.count_matches(".", literal=True) == 3
    valid = pl.all_horizontal(p.is_between(0, 255) for p in parts) & four_parts
    as_int = pl.when(valid).then(sum(p * (1 << (8 * (3 - i))) for i, p in enumerate(parts)))
    frame = pl.DataFrame({"ip": ips}).with_columns(as_int.alias("v4"))
    inside = pl.lit(False)
    for net in v4:
        lo, hi = int(net.network_address), int(net.broadcast_address)
        inside = inside | pl.col("v4").is_between(lo, hi)
    zone = pl.when(pl.col("v4").is_not_null()).then(
        pl.when(inside).then(pl.lit(INTERNAL)).otherwise(pl.lit(EXTERNAL))
    )
    result = frame.select(zone.alias("client_zone"))["client_zone"]
    others = frame.filter(pl.col("v4").is_null() & pl.col("ip").is_not_null())["ip"].unique()
    if others.len():
        v6 = [n for n in parsed if n.version == 6]
        lookup = {}
        for value in others:
            ip = parse_ip(value)
            if ip is None:
                continue
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            nets = v4 if ip.version == 4 else v6
            lookup[value] = INTERNAL if any(ip in n for n in nets) else EXTERNAL
        fallback = ips.replace_strict(lookup, default=None, return_dtype=pl.String)
        result = result.fill_null(fallback)
    return result.alias("client_zone")

"""Which configured partner an event belongs to (by key id, client id, principal or network)."""

from __future__ import annotations

import ipaddress

import polars as pl

from apisight.config import Partner
from apisight.normalize.clientip import parse_ip


def partner_column(frame: pl.DataFrame, partners: list[Partner]) -> pl.Series:
    """The partner name per row, or null; identity matches win over network matches."""
    if not partners:
        return pl.Series("partner", [None] * frame.height, dtype=pl.String)
    exprs: list[pl.Expr] = []
    for column, attr in [("api_key_id", "api_key_ids"), ("jwt_client_id", "client_ids"), ("principal", "principals")]:
        mapping = {value: p.name for p in partners for value in getattr(p, attr)}
        if mapping:
            exprs.append(pl.col(column).replace_strict(mapping, default=None, return_dtype=pl.String))
    networks = [(ipaddress.ip_network(n, strict=False), p.name) for p in partners for n in p.networks]
    if networks:
        ips = frame["client_ip"].drop_nulls().unique()
        by_ip = {}
        for ip in ips:
            parsed = parse_ip(ip)
            by_ip[ip] = next((name for net, name in networks if parsed is not None and parsed in net), None)
        exprs.append(pl.col("client_ip").replace_strict(by_ip, default=None, return_dtype=pl.String))
    return frame.select(pl.coalesce(exprs).alias("partner"))["partner"]

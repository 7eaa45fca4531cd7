"""The real client address: X-Forwarded-For / Forwarded only from trusted proxies.

An attacker can put anything in X-Forwarded-For, so it is believed only when the
address that connected is a configured proxy, and then walked from the right: the
first address that is not itself a trusted proxy is the client.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

import polars as pl

_FORWARDED_FOR = re.compile(r'for="?\[?([^\]";,]+)', re.IGNORECASE)


class ClientResolver:
    """Resolves client addresses for a set of trusted proxy networks."""

    def __init__(self, trusted_proxies: list[str], header: str = "x-forwarded-for") -> None:
        self._trusted = [ipaddress.ip_network(n, strict=False) for n in trusted_proxies]
        self._use_forwarded = header == "forwarded"
        self._is_trusted = lru_cache(maxsize=65536)(self._check_trusted)

    def _check_trusted(self, address: str) -> bool:
        ip = parse_ip(address)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return ip is not None and any(ip in net for net in self._trusted)

    def resolve(self, peer: str | None, forwarded_for: str | None, forwarded: str | None) -> str | None:
        """The client address for one (peer, X-Forwarded-For, Forwarded) combination."""
        if peer is None or not self._trusted or not self._is_trusted(peer):
            return peer
        hops: list[str] = []
        if self._use_forwarded:
            hops = _FORWARDED_FOR.findall(forwarded or "")
        else:
            hops = [h.strip() for h in (forwarded_for or "").split(",") if h.strip()]
        for hop in reversed(hops):
            if parse_ip(hop) is None:
                return peer  # a malformed hop: stop trusting the chain
            if not self._is_trusted(hop):
                return strip_port(hop)
        return strip_port(hops[0]) if hops else peer

    def client_ips(self, frame: pl.DataFrame) -> pl.Series:
        """``client_ip`` for each row, resolving each distinct combination once."""
        if not self._trusted:
            return frame["peer_ip"].alias("client_ip")
        keys = ["peer_ip", "forwarded_for", "forwarded"]
        unique = frame.select(keys).unique()
        resolved = unique.with_columns(
            pl.Series("client_ip", [self.resolve(*row) for row in unique.iter_rows()], dtype=pl.String)
        )
        return frame.select(keys).join(resolved, on=keys, how="left", nulls_equal=True, maintain_order="left")[
            "client_ip"
        ]


def strip_port(address: str) -> str:
    """``1.2.3.4:5678`` -> ``1.2.3.4``; ``[2001:db8::1]:443`` -> ``2001:db8::1``."""
    address = address.strip()
    if address.startswith("["):
        return address[1:].split("]", 1)[0]
    if address.count(":") == 1:
        return address.split(":", 1)[0]
    return address


def parse_ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(strip_port(address))
    except ValueError:
        return None

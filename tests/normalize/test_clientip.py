import polars as pl
import pytest

from apisight.normalize.clientip import ClientResolver, strip_port

TRUSTED = ["10.0.0.0/8", "173.245.48.0/20"]


@pytest.mark.parametrize(
    ("peer", "xff", "forwarded", "expected"),
    [
        # an untrusted peer is the client, whatever it claims in X-Forwarded-For
        ("198.51.100.7", "1.2.3.4", None, "198.51.100.7"),
        # a trusted load balancer: the right-most untrusted hop is the client
        ("10.0.0.2", "203.0.113.9", None, "203.0.113.9"),
        # a spoofed left-most entry is ignored: the client appended by our proxies wins
        ("10.0.0.2", "6.6.6.6, 203.0.113.9", None, "203.0.113.9"),
        # CDN then our LB: both trusted hops are skipped
        ("10.0.0.2", "203.0.113.9, 173.245.49.1", None, "203.0.113.9"),
        # every hop trusted: the left-most is the best we know
        ("10.0.0.2", "10.1.1.1, 10.2.2.2", None, "10.1.1.1"),
        # trusted peer without any header
        ("10.0.0.2", None, None, "10.0.0.2"),
        # a garbage hop stops the chain: fall back to the peer
        ("10.0.0.2", "203.0.113.9, not-an-ip", None, "10.0.0.2"),
        # a client-supplied Forwarded header is ignored when proxies append X-Forwarded-For
        ("10.0.0.2", "203.0.113.66", "for=8.8.8.8", "203.0.113.66"),
        # an IPv4-mapped IPv6 peer is still the trusted proxy it is
        ("::ffff:10.0.0.2", "203.0.113.9", None, "203.0.113.9"),
        # hops with ports
        ("10.0.0.2", "203.0.113.9:51234", None, "203.0.113.9"),
    ],
)
def test_trusted_proxy_resolution(peer, xff, forwarded, expected):
    assert ClientResolver(TRUSTED).resolve(peer, xff, forwarded) == expected


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ('for="[2001:db8:cafe::17]:4711";proto=https', "2001:db8:cafe::17"),
        ("for=192.0.2.60;proto=http;by=203.0.113.43", "192.0.2.60"),
        ("for=6.6.6.6, for=198.51.100.3", "198.51.100.3"),
    ],
)
def test_rfc7239_forwarded_when_configured(forwarded, expected):
    resolver = ClientResolver(TRUSTED, header="forwarded")
    assert resolver.resolve("10.0.0.2", "1.1.1.1", forwarded) == expected


def test_without_trusted_proxies_forwarded_headers_are_never_believed():
    assert ClientResolver([]).resolve("10.0.0.2", "203.0.113.9", None) == "10.0.0.2"


def test_column_resolution_matches_row_resolution():
    frame = pl.DataFrame(
        {
            "peer_ip": ["10.0.0.2", "198.51.100.7", "10.0.0.2", None],
            "forwarded_for": ["203.0.113.9", "1.2.3.4", "203.0.113.9", None],
            "forwarded": [None, None, None, None],
        },
        schema={"peer_ip": pl.String, "forwarded_for": pl.String, "forwarded": pl.String},
    )
    assert ClientResolver(TRUSTED).client_ips(frame).to_list() == ["203.0.113.9", "198.51.100.7", "203.0.113.9", None]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1.2.3.4:80", "1.2.3.4"), ("[2001:db8::1]:443", "2001:db8::1"), ("2001:db8::1", "2001:db8::1")],
)
def test_strip_port(value, expected):
    assert strip_port(value) == expected

import polars as pl
import pytest

from apisight.normalize.networks import client_zone

NETWORKS = ["10.0.0.0/8", "192.168.0.0/16", "fc00::/7"]


@pytest.mark.parametrize(
    ("ip", "zone"),
    [
        ("10.1.2.3", "internal"),
        ("10.255.255.255", "internal"),
        ("11.0.0.1", "external"),
        ("192.168.0.1", "internal"),
        ("8.8.8.8", "external"),
        ("fd00::1", "internal"),
        ("2001:db8::1", "external"),
        ("::ffff:10.0.0.1", "internal"),
        ("256.1.1.1", None),
        ("1.2.3", None),
        ("1.2.3.4.5", None),
        ("garbage", None),
        (None, None),
    ],
)
def test_zone_per_address(ip, zone):
    assert client_zone(pl.Series([ip, "8.8.8.8"], dtype=pl.String), NETWORKS).to_list() == [zone, "external"]


def test_repeated_addresses_keep_their_row_order():
    ips = pl.Series(["10.0.0.1", "8.8.8.8", "10.0.0.1", None, "8.8.8.8"], dtype=pl.String)
    assert client_zone(ips, NETWORKS).to_list() == ["internal", "external", "internal", None, "external"]

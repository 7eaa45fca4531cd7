"""token_shared_by_many_clients: one bearer token from many outside addresses, one finding per host."""

import pytest

from apisight.posture.checks.token_shared_by_many_clients import TokenSharedByManyClientsCheck
from tests.posture.test_findings import analyze_lines, configured, findings_of, harl

H = "https://api.bank.example"
SHARED = "shared0123456789abcdefghijklmnop"


def bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("shared")
    lines = [
        harl(f"{H}/v1/rates", headers=bearer(SHARED), client=f"198.51.100.{i}") for i in range(12)  # planted
    ] + [
        harl(f"{H}/v1/quotes", headers=bearer(SHARED), client="198.51.100.1"),  # the same token elsewhere
    ] + [
        harl(f"{H}/v1/me", headers=bearer(f"user{i:02d}token0123456789abcdefghij"), client=f"203.0.113.{i}")
        for i in range(12)  # one token per client
    ] + [
        harl(f"{H}/v1/roam", headers=bearer("roaming0123456789abcdefghijklmno"), client=f"192.0.2.{i}")
        for i in range(9)  # nine addresses: under the threshold
    ] + [
        harl(f"{H}/v1/relay", headers=bearer("relayed0123456789abcdefghijklmno"), client=f"10.0.0.{i}")
        for i in range(12)  # internal services relaying a user's token
    ] + [
        harl(f"{H}/v1/partner", headers=[("X-Api-Key", "k-0123456789abcdef0123")], client=f"192.0.2.{i}")
        for i in range(12)  # an API key of a server fleet: not a bearer token
    ]
    analyze_lines(tmp_path, lines)
    return tmp_path


def test_planted_and_near_misses(data):
    found = findings_of(data, TokenSharedByManyClientsCheck())
    assert list(found) == [("*", "*")]
    f = found["*", "*"]
    assert f.host == "api.bank.example" and f.severity == "medium" and f.owasp.startswith("API2:2023")
    assert f.evidence["tokens"] == 1 and f.evidence["max_ips_per_token"] == 12 and f.evidence["events"] == 13
    assert f.evidence["endpoints"] == ["GET /v1/quotes", "GET /v1/rates"]
    (prefix,) = f.evidence["token_fingerprints"]
    assert len(prefix) == 12 and SHARED not in str(f.evidence)


def test_a_token_seen_from_very_many_addresses_is_high(tmp_path):
    lines = [harl(f"{H}/v1/rates", headers=bearer(SHARED), client=f"198.51.{i // 200}.{i % 200}") for i in range(100)]
    analyze_lines(tmp_path, lines)
    (f,) = findings_of(tmp_path, TokenSharedByManyClientsCheck()).values()
    assert f.severity == "high" and f.evidence["max_ips_per_token"] == 100


@pytest.mark.parametrize(
    ("options", "tokens", "severity"),
    [
        ({}, 1, "medium"),
        ({"min_client_ips": 9}, 2, "medium"),  # the roaming token's nine addresses now count
        ({"min_client_ips": 13}, 0, None),  # twelve addresses are now too few
        ({"public_client_ips": 12}, 1, "high"),  # twelve is now as good as public
        ({"schemes": ["bearer", "api_key"]}, 2, "medium"),  # the fleet's API key now counts
    ],
)
def test_settings_move_the_thresholds(data, options, tokens, severity):
    found = findings_of(data, configured("token_shared_by_many_clients", **options))
    assert len(found) == (1 if tokens else 0)
    if tokens:
        assert found["*", "*"].evidence["tokens"] == tokens and found["*", "*"].severity == severity

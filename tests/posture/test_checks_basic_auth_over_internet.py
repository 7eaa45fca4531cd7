"""basic_auth_over_internet: HTTP Basic credentials from external clients; over http it is high."""

import base64

import pytest

from apisight.posture.checks.basic_auth_over_internet import BasicAuthOverInternetCheck
from tests.posture.test_findings import INTERNAL, analyze_lines, configured, findings_of, harl

H = "api.bank.example"


def basic(user: str) -> list[tuple[str, str]]:
    return [("Authorization", "Basic " + base64.b64encode(f"{user}:s3cret-pass".encode()).decode())]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("basic")
    lines = [
        harl(f"https://{H}/v2/accounting/export", headers=basic("acme")),  # planted
        harl(f"https://{H}/v2/accounting/export", headers=basic("acme"), client="203.0.113.9"),
        harl(f"http://{H}/v1/exports", headers=basic("legacy")),  # planted, over http
        harl(f"https://{H}/v2/accounting/reconciliation", headers=basic("recon"), client=INTERNAL),  # internal
        harl(f"https://{H}/v2/accounts", headers=[("Authorization", "Bearer abcdefghijklmnopqrstuvwxyz")]),
    ]
    analyze_lines(tmp_path, lines)
    return tmp_path


def test_flags_external_basic_only(data):
    found = findings_of(data, BasicAuthOverInternetCheck())
    assert set(found) == {("GET", "/v2/accounting/export"), ("GET", "/v1/exports")}
    export = found["GET", "/v2/accounting/export"]
    assert export.severity == "medium" and export.owasp.startswith("API2:2023")
    assert export.evidence["clients"] == 2 and export.evidence["credentials"] == 1
    assert export.evidence["users"] == 1 and export.evidence["plaintext_events"] == 0
    assert export.evidence["client_zones"] == {"external": 2}
    plain = found["GET", "/v1/exports"]
    assert plain.severity == "high" and plain.evidence["plaintext_events"] == 1
    assert "s3cret" not in str(export.evidence) + str(plain.evidence)


def test_client_zones_setting(data):
    again = findings_of(data, configured("basic_auth_over_internet", client_zones=["external", "internal"]))
    assert ("GET", "/v2/accounting/reconciliation") in again
    assert again["GET", "/v2/accounting/reconciliation"].evidence["client_zones"] == {"internal": 1}


def test_client_zones_must_not_be_empty():
    with pytest.raises(ValueError, match="client_zones: give at least one"):
        configured("basic_auth_over_internet", client_zones=[])

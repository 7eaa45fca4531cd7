"""sensitive_data_without_auth: fires on clear sensitive data to unauthenticated callers only."""

from apisight.posture.checks.sensitive_data_without_auth import SensitiveDataWithoutAuthCheck
from tests.posture.test_findings import SSN_BODY, analyze_lines, findings_of, harl

H = "https://api.bank.example"
BEARER = [("Authorization", "Bearer abcdefghijklmnopqrstuvwxyz")]


def test_planted_and_near_misses(tmp_path):
    lines = [
        harl(f"{H}/v1/customers/{i}", body=SSN_BODY) for i in range(3)  # planted: no credential
    ] + [
        harl(f"{H}/v1/profiles/{i}", body=SSN_BODY, headers=BEARER) for i in range(3)  # authenticated
    ] + [
        harl(f"{H}/v1/cards/{i}", body={"pan": "4111 **** **** 1111"}) for i in range(3)  # masked at source
    ] + [
        harl(f"{H}/v1/errors/{i}", body=SSN_BODY, status=404) for i in range(3)  # not a success
    ] + [
        harl(f"{H}/v1/rates/{i}", body={"rate": 1.2}) for i in range(3)  # nothing sensitive
    ]
    analyze_lines(tmp_path, lines)
    found = findings_of(tmp_path, SensitiveDataWithoutAuthCheck())
    assert list(found) == [("GET", "/v1/customers/{customer_id}")]
    f = found["GET", "/v1/customers/{customer_id}"]
    assert f.severity == "high" and f.evidence["external_events"] == 3 and f.evidence["fields"] == ["$.ssn"]

"""sensitive_data_in_url: personal data in query strings; credentials and masked values are not it."""

from apisight.posture.checks.sensitive_data_in_url import SensitiveDataInUrlCheck
from tests.posture.test_findings import analyze_lines, findings_of, harl

H = "https://api.bank.example"


def test_planted_and_near_misses(tmp_path):
    lines = [
        harl(f"{H}/v1/customers/search?email=ann@example.com"),  # planted
        harl(f"{H}/v1/payments?card=4539148803436467"),  # planted: a clear card number
        harl(f"{H}/v1/quotes?api_key=abcd1234abcd1234abcd"),  # a credential: the other check's
        harl(f"{H}/v1/customers/search2?q=ann&page=1"),  # nothing sensitive
    ]
    analyze_lines(tmp_path, lines)
    found = findings_of(tmp_path, SensitiveDataInUrlCheck())
    assert set(found) == {("GET", "/v1/customers/search"), ("GET", "/v1/payments")}
    assert found["GET", "/v1/customers/search"].evidence["types"] == ["email"]
    assert found["GET", "/v1/payments"].evidence["types"] == ["card_number"]
    assert "ann@example.com" not in str(found["GET", "/v1/customers/search"].evidence)

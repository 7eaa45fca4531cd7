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


def test_a_redirect_that_puts_personal_data_in_a_url_counts_and_a_referer_does_not(tmp_path):
    lines = [
        harl(f"{H}/v1/signup/done", status=302,
             response_headers=[("Location", "https://www.bank.example/welcome?email=ann%40example.com")]),
        harl(f"{H}/v1/offers", headers=[("Referer", "https://www.bank.example/p?email=bob@example.com")]),
        harl(f"{H}/v1/logout", status=302, response_headers=[("Location", "https://www.bank.example/")]),
    ]
    analyze_lines(tmp_path, lines)
    found = findings_of(tmp_path, SensitiveDataInUrlCheck())
    assert set(found) == {("GET", "/v1/signup/done")}
    evidence = found["GET", "/v1/signup/done"].evidence
    assert evidence["types"] == ["email"]
    assert evidence["fields"] == ["response header:location"]
    assert "ann@example.com" not in str(evidence) and "ann%40example.com" not in str(evidence)

"""plaintext_http: external clients over http; credentials over http raise it to high."""

from apisight.posture.checks.plaintext_http import PlaintextHttpCheck
from tests.posture.test_findings import INTERNAL, analyze_lines, findings_of, harl

KEY = [("X-Api-Key", "k-0123456789abcdef0123")]


def test_planted_and_near_misses(tmp_path):
    lines = [
        harl("http://api.bank.example/v1/rates"),  # planted, anonymous
        harl("http://api.bank.example/v1/accounts", headers=KEY),  # planted, with a key
        harl("http://api.bank.example/v1/health", client=INTERNAL),  # internal caller
        harl("https://api.bank.example/v1/statements", headers=KEY),  # https
    ]
    analyze_lines(tmp_path, lines)
    found = findings_of(tmp_path, PlaintextHttpCheck())
    assert set(found) == {("GET", "/v1/rates"), ("GET", "/v1/accounts")}
    assert found["GET", "/v1/rates"].severity == "medium"
    accounts = found["GET", "/v1/accounts"]
    assert accounts.severity == "high" and accounts.evidence["auth_schemes"] == {"api_key": 1}
    assert accounts.owasp.startswith("API8:2023")

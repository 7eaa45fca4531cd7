"""credentials_in_url: secrets in query strings, by recognised type or by configured parameter."""

from apisight.posture.checks.credentials_in_url import CredentialsInUrlCheck
from tests.posture.test_findings import analyze_lines, findings_of, harl

H = "https://api.bank.example"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
       "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PSR5sxmRkQGw")


def test_planted_and_near_misses(tmp_path):
    lines = [
        harl(f"{H}/v1/export?access_token={JWT}"),  # planted: a JWT in the query
        harl(f"{H}/v1/quotes?api_key=abcd1234abcd1234abcd"),  # planted: an API key parameter
        harl(f"{H}/v1/search?token=short1"),  # planted: configured secret parameter, short value
        harl(f"{H}/oauth/callback?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz"),  # OAuth code: by design
        harl(f"{H}/v1/list?page=2&sort=name"),  # ordinary parameters
        harl(f"{H}/v1/me", headers=[("Authorization", f"Bearer {JWT}")]),  # token in the header
    ]
    analyze_lines(tmp_path, lines)
    found = findings_of(tmp_path, CredentialsInUrlCheck())
    assert set(found) == {("GET", "/v1/export"), ("GET", "/v1/quotes"), ("GET", "/v1/search")}
    assert "jwt" in found["GET", "/v1/export"].evidence["carried"]
    assert "param:api_key" in found["GET", "/v1/quotes"].evidence["carried"]
    assert found["GET", "/v1/search"].evidence["carried"] == ["param:token"]
    text = str([f.evidence for f in found.values()])
    assert JWT not in text and "abcd1234abcd1234abcd" not in text

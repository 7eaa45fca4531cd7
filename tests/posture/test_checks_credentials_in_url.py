"""credentials_in_url: secrets in query strings, by recognised type or by configured parameter."""

import pytest

from apisight.posture.checks.credentials_in_url import CredentialsInUrlCheck
from tests.posture.test_findings import analyze_lines, configured, findings_of, harl

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


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("accessToken=opaque-value-123", "param:accesstoken"),  # a credential's name, camelCase
        ("client_secret=s3cr3t", "param:client_secret"),
        ("db_password=hunter2", "param:db_password"),
        ("x-api-key=k1", "param:x-api-key"),
        ("card_number=4111111111111111", None),  # masked by name, but card data: sensitive_data_in_url's
        ("account_number=12345678&sort_code=400000", None),
        ("ssn=123-45-6789", None),
        ("pan=4111111111111111", None),
        ("otp=123456", None),  # a one-time code, like the OAuth code
    ],
)
def test_only_masked_parameters_named_as_credentials_count(tmp_path, query, param):
    analyze_lines(tmp_path, [harl(f"{H}/v1/lookup?{query}")])
    found = findings_of(tmp_path, CredentialsInUrlCheck())
    if param is None:
        assert found == {}
    else:
        assert param in found["GET", "/v1/lookup"].evidence["carried"]


def test_credential_parameter_names_are_settings(tmp_path):
    analyze_lines(tmp_path, [harl(f"{H}/v1/lookup?subscription=abc&otp=123456")])
    assert findings_of(tmp_path, CredentialsInUrlCheck()) == {}  # neither is masked as a credential by default
    found = findings_of(tmp_path, configured("credentials_in_url", credential_params=["otp"]))
    assert found["GET", "/v1/lookup"].evidence["carried"] == ["param:otp"]


def test_a_token_sent_back_in_a_redirect_url_counts(tmp_path):
    lines = [
        harl(f"{H}/oauth/authorize?response_type=token", status=302,
             response_headers=[("Location", f"https://app.bank.example/cb#access_token={JWT}&token_type=bearer")]),
        harl(f"{H}/oauth/authorize2?response_type=code", status=302,
             response_headers=[("Location", "https://app.bank.example/cb?code=SplxlOBeZQQYbYS6WxSbIA")]),
    ]
    analyze_lines(tmp_path, lines)
    found = findings_of(tmp_path, CredentialsInUrlCheck())
    assert set(found) == {("GET", "/oauth/authorize")}
    assert found["GET", "/oauth/authorize"].evidence["carried"] == ["jwt"]
    assert JWT not in str(found["GET", "/oauth/authorize"].evidence)

"""no_rate_limiting: bursts on authentication endpoints that were never answered 429."""

from datetime import timedelta

import pytest

from apisight.posture.checks.no_rate_limiting import NoRateLimitingCheck
from tests.posture.test_findings import DAY, INTERNAL, analyze_lines, configured, findings_of, harl

H = "https://api.bank.example"
LOGIN = '{"username": "ann", "password": "guess"}'


def burst(path: str, n: int = 40, *, every: timedelta = timedelta(seconds=1), method: str = "POST",
          status: int = 200, client: str = "198.51.100.7", throttle_after: int | None = None) -> list[str]:
    return [
        harl(f"{H}{path}", method=method, request_body=LOGIN, client=client, at=DAY + i * every,
             status=429 if throttle_after is not None and i >= throttle_after else status)
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("rate")
    lines = (
        burst("/v1/auth/login", status=401)  # planted: 40 failed logins in 40 s
        + burst("/oauth/token", n=35, every=timedelta(seconds=1.5))  # planted: 35 in 52 s
        + burst("/v1/otp/verify", throttle_after=20)  # the same flood, throttled after 20
        + burst("/v1/password/reset", every=timedelta(minutes=1))  # one a minute
        + burst("/v1/payments")  # a flood, but not an authentication endpoint
        + burst("/v1/token/info", method="GET")  # GET: not a credential exchange
        + burst("/v1/signin", client=INTERNAL)  # an internal caller (load test, service)
        + burst("/v1/mfa/challenge", n=29)  # one under the limit
        + [harl(f"{H}/v2/oauth/token", method="POST", client=f"203.0.113.{i}", at=DAY + timedelta(seconds=i),
                headers=[("X-Api-Key", "k-0123456789abcdef0123")]) for i in range(30)]  # planted: one key, 30 IPs
    )
    analyze_lines(tmp_path, lines)
    return tmp_path


@pytest.fixture(scope="module")
def found(data):
    return findings_of(data, NoRateLimitingCheck())


def test_flags_only_the_unthrottled_floods(found):
    assert set(found) == {("POST", "/v1/auth/login"), ("POST", "/oauth/token"), ("POST", "/v2/oauth/token")}


def test_one_key_from_many_addresses_is_one_client(found):
    f = found["POST", "/v2/oauth/token"]
    assert f.evidence["peak_requests"] == 30 and f.evidence["clients"] == 30 and f.evidence["events"] == 30


def test_failed_logins_in_the_flood_make_it_high(found):
    login = found["POST", "/v1/auth/login"]
    assert login.severity == "high" and login.owasp.startswith("API4:2023")
    assert login.evidence["peak_requests"] == 40 and login.evidence["auth_failures"] == 40
    assert login.evidence["statuses"] == {"401": 40} and login.evidence["clients"] == 1
    assert "limit_req" in login.remediation


def test_a_flood_of_successes_is_medium(found):
    token = found["POST", "/oauth/token"]
    assert token.severity == "medium" and token.evidence["peak_requests"] == 35
    assert token.evidence["events"] == 35 and len(token.evidence["sample_event_ids"]) == 5


FLAGGED = {"/v1/auth/login", "/oauth/token", "/v2/oauth/token"}


@pytest.mark.parametrize(
    ("options", "flagged"),
    [
        ({}, FLAGGED),
        ({"max_requests": 29}, FLAGGED | {"/v1/mfa/challenge"}),  # 29 in 29 s now counts
        ({"max_requests": 36}, {"/v1/auth/login"}),  # only the 40-request flood is left
        ({"per_seconds": 3600}, FLAGGED | {"/v1/password/reset"}),  # 40 within the hour, one a minute
        ({"methods": ["POST", "get"]}, FLAGGED | {"/v1/token/info"}),
        ({"template_pattern": "(?i)payments"}, {"/v1/payments"}),
    ],
)
def test_settings_move_the_thresholds(data, options, flagged):
    found = findings_of(data, configured("no_rate_limiting", **options))
    assert {path for _, path in found} == flagged

"""jwt_weaknesses: unsigned, confusable, expiry-less, long-lived and accepted-expired JWTs."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

import orjson
import pytest

from apisight.posture.checks.jwt_weaknesses import JwtWeaknessesCheck
from tests.posture.test_findings import DAY, analyze_lines, configured, findings_of, harl

H = "https://api.bank.example"
IDP = "https://idp.bank.example"


def jwt(alg: str = "RS256", *, iss: str = IDP, expires: timedelta | None = timedelta(hours=1),
        at: datetime = DAY, sub: str = "u1") -> str:
    """A JWS compact token (signature not valid: apisight does not verify) expiring ``expires`` after ``at``."""
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(obj)).decode().rstrip("=")

    claims: dict = {"sub": sub, "iss": iss}
    if expires is not None:
        claims["exp"] = int((at + expires).timestamp())
    return f"{part({'alg': alg, 'typ': 'JWT'})}.{part(claims)}.{'' if alg == 'none' else 'c2lnbmF0dXJl'}"


def call(path: str, token: str, status: int = 200) -> str:
    return harl(f"{H}{path}", status=status, headers=[("Authorization", f"Bearer {token}")])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("jwt")
    lines = [
        call("/unsigned", jwt("none")),  # planted: critical
        call("/legacy", jwt("HS256")),  # planted: HS256 from an issuer that also signs RS256
        call("/expired", jwt(expires=-timedelta(hours=1))),  # planted: accepted an hour after expiry
        call("/forever", jwt(expires=None)),  # planted: no exp
        call("/long", jwt(expires=timedelta(days=30))),  # planted: a month to live
        call("/partner", jwt("HS512", iss="https://partner.example")),  # HS alone: info
        call("/accounts", jwt()),  # clean: RS256, an hour to live
        call("/refused", jwt(expires=-timedelta(hours=1)), status=401),  # expired and refused
        call("/skewed", jwt(expires=-timedelta(minutes=2))),  # expired within the clock leeway
        call("/rates", jwt(expires=-timedelta(hours=1))),  # expired, but the endpoint is public:
        harl(f"{H}/rates"),  # it answers requests without credentials too
        harl(f"{H}/opaque", headers=[("Authorization", "Bearer abcdefghijklmnopqrstuvwxyz")]),  # not a JWT
    ]
    analyze_lines(tmp_path, lines)
    return tmp_path


@pytest.fixture(scope="module")
def found(data):
    return findings_of(data, JwtWeaknessesCheck())


def test_flags_only_the_planted_weaknesses(found):
    assert set(found) == {("GET", p) for p in ("/unsigned", "/legacy", "/expired", "/forever", "/long", "/partner")}


@pytest.mark.parametrize(
    ("path", "weakness", "severity"),
    [
        ("/unsigned", "alg_none", "critical"),
        ("/legacy", "hs_mixed_issuer", "high"),
        ("/expired", "accepted_after_expiry", "high"),
        ("/forever", "no_exp", "medium"),
        ("/long", "long_lived", "low"),
        ("/partner", "hs_symmetric", "info"),
    ],
)
def test_each_weakness_is_counted_and_rated(found, path, weakness, severity):
    f = found["GET", path]
    assert f.evidence["weaknesses"] == {weakness: 1} and f.severity == severity
    assert f.owasp.startswith("API2:2023") and f.evidence["tokens"] == 1 and len(f.evidence["sample_event_ids"]) == 1


def test_evidence_names_the_issuer_and_algorithm_never_the_token(found):
    legacy = found["GET", "/legacy"]
    assert legacy.evidence["issuers"] == [IDP] and legacy.evidence["algorithms"] == {"HS256": 1}
    assert jwt("HS256") not in str(legacy.evidence)


PLANTED = {"/unsigned", "/legacy", "/expired", "/forever", "/long", "/partner"}


@pytest.mark.parametrize(
    ("options", "flagged"),
    [
        ({"max_lifetime_s": 31 * 24 * 3600}, PLANTED - {"/long"}),  # a month to live is now fine
        ({"max_lifetime_s": 1800}, PLANTED | {"/accounts"}),  # an hour is now too long
        ({"expiry_leeway_s": 60}, PLANTED | {"/skewed"}),  # two minutes past exp is now beyond the leeway
        ({"expiry_leeway_s": 7200}, PLANTED - {"/expired"}),  # an hour past exp is now within it
    ],
)
def test_settings_move_the_thresholds(data, options, flagged):
    found = findings_of(data, configured("jwt_weaknesses", **options))
    assert {path for _, path in found} == flagged
    if "/accounts" in flagged:
        assert found["GET", "/accounts"].evidence["weaknesses"] == {"long_lived": 1}
    if "/skewed" in flagged:
        assert found["GET", "/skewed"].evidence["weaknesses"] == {"accepted_after_expiry": 1}

"""missing_security_headers: cacheable sensitive responses and permissive CORS, judged only from
response headers the source recorded."""

import orjson
import pytest

from apisight.posture.checks.missing_security_headers import MissingSecurityHeadersCheck
from tests.posture.test_findings import DAY, SSN_BODY, analyze_lines, configured, findings_of, harl

H = "https://api.bank.example"
NO_STORE = [("Cache-Control", "no-store")]
CREDENTIALS = ("Access-Control-Allow-Credentials", "true")


def cors(path: str, origins: list[str], *, allow: str | None = None, credentials: bool = True) -> list[str]:
    """Requests from ``origins``, answered with ``allow`` (default: the request's own origin)."""
    return [
        harl(f"{H}{path}", headers=[("Origin", o)], response_headers=[
            *NO_STORE, ("Access-Control-Allow-Origin", allow or o), *([CREDENTIALS] if credentials else [])])
        for o in origins
    ]


def jsonl(path: str, headers: dict[str, str]) -> str:
    """An application log line whose response headers hold only what the logger was told to keep."""
    return orjson.dumps({
        "timestamp": DAY.isoformat(), "method": "GET", "host": "api.bank.example", "url": path, "status": 200,
        "client_ip": "198.51.100.7", "response_content_type": "application/json",
        "response_headers": {"content-type": "application/json", **headers},
        "response_body": orjson.dumps(SSN_BODY).decode(),
    }).decode()


EVIL = ["https://evil.example", "https://attacker.example", "https://x.example"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("headers")
    lines = (
        [harl(f"{H}/v1/customers/{n}", body=SSN_BODY) for n in range(3)]  # planted: no Cache-Control
        + [harl(f"{H}/v1/cards/{n}", body=SSN_BODY, response_headers=[("Cache-Control", "private, max-age=600")])
           for n in range(3)]  # planted: cacheable
        + [harl(f"{H}/v1/profiles/{n}", body=SSN_BODY, response_headers=NO_STORE) for n in range(3)]  # no-store
        + [harl(f"{H}/v1/rates/{n}", body={"rate": 1.2}) for n in range(3)]  # nothing sensitive
        + cors("/v1/me", EVIL)  # planted: any origin echoed, with credentials
        + cors("/v1/public", EVIL, allow="*")  # planted: * with credentials
        + cors("/v1/settings", ["https://app.bank.example"] * 3)  # one allowlisted origin with credentials
        + cors("/v1/branches", EVIL, allow="*", credentials=False)  # a public API
        + cors("/v1/widgets", EVIL, credentials=False)  # echoed without credentials: low
    )
    analyze_lines(tmp_path, lines)
    analyze_lines(tmp_path, [
        jsonl("/v1/loans/7", {}),  # the logger keeps no Cache-Control: cannot judge
        jsonl("/v1/cases/7", {"cache-control": "max-age=60"}),  # recorded: judged
        jsonl("/v1/customers/9", {}),  # beside recorded HAR traffic: counted as not judged
    ], name="app.log")
    return tmp_path


@pytest.fixture(scope="module")
def found(data):
    return findings_of(data, MissingSecurityHeadersCheck())


def test_flags_only_the_planted_endpoints(found):
    assert set(found) == {("GET", p) for p in ("/v1/customers/{customer_id}", "/v1/cards/{card_id}",
                                               "/v1/cases/{case_id}", "/v1/me", "/v1/public", "/v1/widgets")}


def test_sensitive_responses_without_no_store(found):
    customers = found["GET", "/v1/customers/{customer_id}"]
    assert customers.severity == "medium" and customers.owasp.startswith("API8:2023")
    assert customers.evidence["issues"] == ["sensitive_response_cacheable"]
    assert customers.evidence["cacheable_sensitive_events"] == 3 and customers.evidence["sensitive_types"] == ["us_ssn"]
    assert customers.evidence["cache_control_seen"] == {"": 3}
    assert customers.evidence["unrecorded_sensitive_events"] == 1 and "did not record" in customers.evidence["note"]
    assert found["GET", "/v1/cards/{card_id}"].evidence["cache_control_seen"] == {"private, max-age=600": 3}
    assert found["GET", "/v1/cases/{case_id}"].evidence["unrecorded_sensitive_events"] == 0


@pytest.mark.parametrize(
    ("path", "issue", "severity"),
    [
        ("/v1/me", "cors_origin_reflected", "high"),
        ("/v1/public", "cors_wildcard_with_credentials", "medium"),
        ("/v1/widgets", "cors_origin_reflected", "low"),
    ],
)
def test_permissive_cors(found, path, issue, severity):
    f = found["GET", path]
    assert f.evidence["issues"] == [issue] and f.severity == severity


def test_reflection_evidence_lists_the_echoed_origins(found):
    me = found["GET", "/v1/me"]
    assert me.evidence["reflected_origins"] == 3 and me.evidence["reflected_with_credentials"] is True
    assert me.evidence["example_origins"] == sorted(EVIL)


@pytest.mark.parametrize(
    ("options", "added", "removed"),
    [
        ({"min_reflected_origins": 1}, {"/v1/settings"}, set()),  # one echoed origin now counts as reflection
        ({"min_reflected_origins": 4}, set(), {"/v1/me", "/v1/widgets"}),  # three echoed origins are now too few
        ({"complete_header_sources": ["har"]}, set(), {"/v1/customers/{customer_id}"}),  # harl no longer complete
    ],
)
def test_settings_move_the_thresholds(data, found, options, added, removed):
    again = findings_of(data, configured("missing_security_headers", **options))
    assert {p for _, p in again} == ({p for _, p in found} | added) - removed

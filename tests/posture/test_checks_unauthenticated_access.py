"""unauthenticated_access: operations the spec says require authentication, answered 2xx to
requests without credentials; judged only where the source shows credentials."""

import textwrap

import orjson
import pytest

from apisight.posture.checks.unauthenticated_access import UnauthenticatedAccessCheck
from apisight.store import Catalog
from tests.posture.test_findings import DAY, SSN_BODY, analyze_lines, configured, findings_of, harl

H = "https://api.bank.example"
AUTH = [("Authorization", "Bearer abcdefghijklmnopqrstuvwxyz")]
SPEC = textwrap.dedent(
    """
    openapi: 3.0.3
    info: {title: Bank, version: "2"}
    servers: [{url: "https://api.bank.example"}]
    security: [{bearerAuth: []}]
    components: {securitySchemes: {bearerAuth: {type: http, scheme: bearer}}}
    paths:
      /v2/direct-debits:
        get: {operationId: listDirectDebits, responses: {"200": {description: ok}}}
      /v2/customers/{customer_id}:
        get: {operationId: getCustomer, responses: {"200": {description: ok}}}
      /v2/scheduled-payments:
        get: {operationId: listScheduled, responses: {"200": {description: ok}, "401": {description: no}}}
      /v2/branches:
        get: {operationId: listBranches, security: [], responses: {"200": {description: ok}}}
      /v2/loans/{loan_id}:
        get: {operationId: getLoan, responses: {"200": {description: ok}}}
      /v2/statements:
        get: {operationId: listStatements, responses: {"200": {description: ok}}}
    """
)


def calls(path: str, *, auth: bool, status: int = 200, body: object = None, n: int = 3) -> list[str]:
    return [harl(f"{H}{path.format(n=i)}", headers=AUTH if auth else [], status=status, body=body)
            for i in range(101, 101 + n)]


def access_log(path: str) -> str:
    """An application log line that names no request headers: credentials cannot be told."""
    return orjson.dumps({
        "timestamp": DAY.isoformat(), "method": "GET", "host": "api.bank.example", "url": path, "status": 200,
        "client_ip": "198.51.100.7", "response_content_type": "application/json",
    }).decode()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("unauthenticated")
    lines = (
        calls("/v2/direct-debits", auth=True) + calls("/v2/direct-debits", auth=False)  # planted: open route
        + calls("/v2/customers/{n}", auth=False, body=SSN_BODY)  # planted: open and sensitive
        + calls("/v2/scheduled-payments", auth=True)
        + calls("/v2/scheduled-payments", auth=False, status=401)  # refused: enforced
        + calls("/v2/branches", auth=False)  # documented as public
        + calls("/v2/loans/{n}", auth=True)  # always authenticated
        + [harl(f"{H}/v2/statements?access_token=abcdefghijklmnopqrstuvwxyz")] * 2  # the token is in the URL
    )
    analyze_lines(tmp_path, lines, spec=SPEC)
    analyze_lines(tmp_path, [access_log("/v2/loans/7"), access_log("/v2/direct-debits")], name="app.log", spec=SPEC)
    return tmp_path


@pytest.fixture(scope="module")
def found(data):
    return findings_of(data, UnauthenticatedAccessCheck())


def test_flags_only_required_auth_answered_without_credentials(found):
    assert set(found) == {("GET", "/v2/direct-debits"), ("GET", "/v2/customers/{customer_id}")}


def test_open_route_is_high_and_explains_itself(found):
    f = found["GET", "/v2/direct-debits"]
    assert f.severity == "high" and f.owasp.startswith("API2:2023")
    assert f.evidence["events"] == 3 and f.evidence["statuses"] == {"200": 3}
    assert f.evidence["operation_id"] == "listDirectDebits" and f.evidence["spec_status"] == "documented"
    assert f.evidence["external_events"] == 3 and f.evidence["sensitive_types"] == []


def test_sensitive_answers_make_it_critical(found):
    f = found["GET", "/v2/customers/{customer_id}"]
    assert f.severity == "critical" and f.evidence["sensitive_types"] == ["us_ssn"]
    assert f.evidence["sensitive_events"] == 3


def test_requests_the_source_cannot_judge_are_counted_not_flagged(found):
    assert found["GET", "/v2/direct-debits"].evidence["unknown_auth_events"] == 1
    assert "not judged" in found["GET", "/v2/direct-debits"].evidence["note"]
    assert found["GET", "/v2/customers/{customer_id}"].evidence["note"] is None
    assert ("GET", "/v2/loans/{loan_id}") not in found  # its only credential-less request came from the log


def test_a_token_in_the_query_is_a_credential_not_its_absence(data, found):
    with Catalog(data / "data", read_only=True) as catalog:
        rows = catalog.db.sql("SELECT DISTINCT auth_scheme, query FROM events WHERE path = '/v2/statements'").fetchall()
    assert rows == [("none", "access_token=[redacted]")]  # no header: judged only by the masked parameter
    assert ("GET", "/v2/statements") not in found


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"min_successes": 4}, set()),
        ({"ignored_types": ["us_ssn"]}, {"/v2/direct-debits": "high", "/v2/customers/{customer_id}": "high"}),
    ],
)
def test_settings(data, options, expected):
    again = findings_of(data, configured("unauthenticated_access", **options))
    assert {p: f.severity for (_, p), f in again.items()} == (expected or {})

"""shadow_endpoint and zombie_endpoint: undocumented and retired endpoints still called, rated by
what they serve and to whom."""

import textwrap

import pytest

from apisight.posture.checks.shadow_endpoint import ShadowEndpointCheck
from apisight.posture.checks.zombie_endpoint import ZombieEndpointCheck
from tests.posture.test_findings import SSN_BODY, analyze_lines, findings_of, harl

H = "https://api.bank.example"
AUTH = [("Authorization", "Bearer abcdefghijklmnopqrstuvwxyz")]
SPEC = textwrap.dedent(
    """
    openapi: 3.0.3
    info: {title: Bank, version: "2"}
    servers: [{url: "https://api.bank.example"}]
    paths:
      /v1/accounts/{account_id}:
        get: {operationId: getAccountV1, deprecated: true, responses: {"200": {description: ok}}}
      /v2/accounts/{account_id}:
        get: {operationId: getAccount, responses: {"200": {description: ok}}}
      /v2/customers/{customer_id}:
        get: {operationId: getCustomer, responses: {"200": {description: ok}}}
      /v2/statements:
        get: {operationId: listStatements, responses: {"200": {description: ok}}}
      /v1/cards/{card_id}:
        get: {operationId: getCardV1, deprecated: true, responses: {"200": {description: ok}}}
      /v2/payees:
        get: {operationId: listPayees, responses: {"200": {description: ok}}}
    """
)


def calls(
    path: str, *, auth: bool = True, body: object = None, host: str = H, method: str = "GET",
    statuses: tuple[int, ...] = (200, 200, 200),
) -> list[str]:
    return [harl(f"{host}{path.format(n=n)}", headers=AUTH if auth else [], body=body, method=method, status=status)
            for n, status in zip(range(101, 104), statuses, strict=True)]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("inventory")
    lines = (
        calls("/v1/accounts/{n}")  # zombie: deprecated, authenticated, nothing sensitive
        + calls("/v1/customers/{n}", auth=False, body=SSN_BODY)  # zombie: v2 documented; open and sensitive
        + calls("/v3/beta/insights/{n}")  # shadow, authenticated, nothing sensitive
        + calls("/v2/export/customers", auth=False, body=SSN_BODY)  # shadow, open and sensitive
        + calls("/v2/accounts/{n}", body=SSN_BODY)  # documented
        + calls("/v1/reports/{n}", host="https://other.example")  # a host no spec covers
        # probes of routes that do not exist: shadow in the inventory, but no endpoint answered
        + calls("/v2/accounts/{n}", method="DELETE", statuses=(405, 405, 405))  # undocumented method
        + calls("/actuator/env", statuses=(404, 404, 404))
        + calls("/debug/vars", statuses=(404, 501, 404))
        + calls("/v3/beta/reports/{n}", statuses=(404, 200, 404))  # a route that exists (one 200)
        # zombies retired as the remediation asks: 410 Gone (or 404) to every call
        + calls("/v1/statements", statuses=(410, 410, 410))  # superseded by /v2/statements
        + calls("/v1/cards/{n}", statuses=(404, 410, 410))  # deprecated
        + calls("/v1/payees", statuses=(410, 200, 410))  # superseded, and one call still served
    )
    analyze_lines(tmp_path, lines, spec=SPEC)
    return tmp_path


def test_shadow_endpoints_on_spec_covered_hosts(data):
    found = findings_of(data, ShadowEndpointCheck())
    assert set(found) == {("GET", "/v3/beta/insights/{insight_id}"), ("GET", "/v2/export/customers"),
                          ("GET", "/v3/beta/reports/{report_id}")}
    quiet, leaky = found["GET", "/v3/beta/insights/{insight_id}"], found["GET", "/v2/export/customers"]
    assert quiet.severity == "low" and quiet.owasp.startswith("API9:2023")
    assert quiet.evidence["sensitive_events"] == 0 and quiet.evidence["auth_schemes"] == {"bearer": 3}
    assert leaky.severity == "high"  # low, raised for sensitive data and for open access
    assert leaky.evidence["sensitive_types"] == ["us_ssn"] and leaky.evidence["unauthenticated_successes"] == 3
    assert leaky.evidence["spec_status"] == "shadow" and leaky.evidence["events"] == 3


def test_shadow_needs_a_route_that_answered(data):
    """Method/paths that only ever answered 404, 405 or 501 were probed, not served."""
    found = findings_of(data, ShadowEndpointCheck())
    for probed in [("DELETE", "/v2/accounts/{account_id}"), ("GET", "/actuator/env"), ("GET", "/debug/vars")]:
        assert probed not in found
    assert found["GET", "/v3/beta/reports/{report_id}"].evidence["statuses"] == {"200": 1, "404": 2}


def test_zombie_endpoints(data):
    found = findings_of(data, ZombieEndpointCheck())
    assert set(found) == {("GET", "/v1/accounts/{account_id}"), ("GET", "/v1/customers/{customer_id}"),
                          ("GET", "/v1/payees")}
    deprecated = found["GET", "/v1/accounts/{account_id}"]
    assert deprecated.severity == "medium" and deprecated.evidence["deprecated"] is True
    assert deprecated.evidence["operation_id"] == "getAccountV1"
    superseded = found["GET", "/v1/customers/{customer_id}"]
    assert superseded.severity == "critical" and superseded.evidence["sensitive_events"] == 3


def test_a_retired_zombie_answering_only_410_or_404_is_resolved(data):
    found = findings_of(data, ZombieEndpointCheck())
    assert ("GET", "/v1/statements") not in found and ("GET", "/v1/cards/{card_id}") not in found
    assert found["GET", "/v1/payees"].evidence["statuses"] == {"200": 1, "410": 2}  # still served once


def test_without_a_spec_nothing_is_shadow(tmp_path):
    analyze_lines(tmp_path, calls("/v3/beta/insights/{n}") + calls("/v2/export/customers", body=SSN_BODY))
    assert findings_of(tmp_path, ShadowEndpointCheck()) == {}
    assert findings_of(tmp_path, ZombieEndpointCheck()) == {}

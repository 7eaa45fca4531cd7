"""excessive_data_exposure: documented endpoints answering with fields their spec does not list."""

import textwrap
from datetime import timedelta

import pytest

from apisight.posture.checks.excessive_data_exposure import ExcessiveDataExposureCheck
from tests.posture.test_findings import DAY, analyze_lines, findings_of, harl

H = "https://api.bank.example"


def ok(*fields: str) -> str:
    props = ", ".join(f"{f}: {{type: string}}" for f in fields)
    return (f'{{"200": {{description: ok, content: {{application/json: '
            f'{{schema: {{type: object, properties: {{{props}}}}}}}}}}}}}')


SPEC = textwrap.dedent(
    f"""
    openapi: 3.0.3
    info: {{title: Bank, version: "2"}}
    servers: [{{url: "https://api.bank.example"}}]
    paths:
      /v2/accounts/{{account_id}}:
        get: {{operationId: getAccount, responses: {ok("id", "balance")}}}
      /v2/statements/{{statement_id}}:
        get: {{operationId: getStatement, responses: {ok("id", "amount")}}}
      /v2/rates:
        get: {{operationId: listRates, responses: {ok("currency", "rate")}}}
      /v2/profile:
        get: {{operationId: getProfile, responses: {ok("name", "email")}}}
      /v2/branches:
        get: {{operationId: listBranches, responses: {{"200": {{description: ok}}}}}}
    """
)


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("exposure")
    lines = (
        [harl(f"{H}/v2/accounts/{n}", body={"id": n, "balance": 10, "ssn": "123-45-6789", "risk_score": 3})
         for n in range(101, 104)]  # planted: an SSN and a score the spec does not list
        + [harl(f"{H}/v2/statements/{n}", body={"id": n, "amount": 5, "branch_code": "B7"})
           for n in range(201, 204)]  # planted: one harmless undocumented field
        + [harl(f"{H}/v2/rates", body={"currency": "EUR", "rate": 1.1})] * 3  # as documented
        + [harl(f"{H}/v2/profile", body={"name": "Ann", "email": "ann@example.com"})] * 3  # sensitive, documented
        + [harl(f"{H}/v2/branches", body={"id": 1, "manager_email": "bo@example.com"})] * 3  # no schema in spec
        + [harl(f"{H}/v9/shadow", body={"ssn": "123-45-6789"})] * 3  # in no spec: shadow_endpoint's
    )
    analyze_lines(tmp_path, lines, spec=SPEC)
    return findings_of(tmp_path, ExcessiveDataExposureCheck())


def test_flags_only_documented_endpoints_with_extra_fields(found):
    assert set(found) == {("GET", "/v2/accounts/{account_id}"), ("GET", "/v2/statements/{statement_id}")}


def test_an_undocumented_sensitive_field_is_high(found):
    f = found["GET", "/v2/accounts/{account_id}"]
    assert f.severity == "high" and f.owasp.startswith("API3:2023")
    assert f.evidence["undocumented_fields"] == f.evidence["fields_seen"] == ["risk_score", "ssn"]
    assert f.evidence["sensitive_fields"] == ["ssn"] and f.evidence["sensitive_types"] == ["us_ssn"]
    assert f.evidence["events"] == 3 and f.evidence["operation_id"] == "getAccount"
    assert "123-45-6789" not in str(f.evidence)


def test_a_harmless_extra_field_is_low(found):
    f = found["GET", "/v2/statements/{statement_id}"]
    assert f.severity == "low" and f.evidence["fields_seen"] == ["branch_code"] and f.evidence["sensitive_fields"] == []


def test_a_field_a_release_adds_late_in_the_traffic_is_seen(tmp_path):
    """Bodies are sampled across the whole time range, not only the earliest ones: the release's
    new field reaches drift however much traffic came before it."""
    before = [harl(f"{H}/v2/accounts/{n}", body={"id": n, "balance": 10}, at=DAY + timedelta(minutes=n))
              for n in range(100)]
    after = [harl(f"{H}/v2/accounts/{n}", body={"id": n, "balance": 10, "overdraft_limit": 500},
                  at=DAY + timedelta(minutes=n)) for n in range(100, 110)]
    analyze_lines(tmp_path, before + after, spec=SPEC)
    f = findings_of(tmp_path, ExcessiveDataExposureCheck())["GET", "/v2/accounts/{account_id}"]
    assert f.evidence["fields_seen"] == ["overdraft_limit"] and f.evidence["events"] == 10

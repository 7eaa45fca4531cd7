"""internal_endpoint_exposed: internal/admin/debug endpoints and introspection answered 2xx to outsiders."""

import pytest

from apisight.posture.checks.internal_endpoint_exposed import InternalEndpointExposedCheck
from tests.posture.test_findings import INTERNAL, analyze_lines, findings_of, harl

H = "https://api.bank.example"
INTROSPECTION = '{"query": "query { __schema { types { name } } }"}'


@pytest.fixture
def found(tmp_path):
    lines = [
        harl(f"{H}/admin/users"),  # planted
        harl(f"{H}/actuator/env"),  # planted
        harl(f"{H}/internal/admin/flags"),  # planted, matches the admin and internal rules
        harl(f"{H}/internal/admin/flags", status=204),
        harl(f"{H}/internal/reindex", method="POST"),  # planted
        harl(f"{H}/graphql", method="POST", request_body=INTROSPECTION),  # planted
        harl(f"{H}/admin/settings", status=403),  # refused: not exposed
        harl(f"{H}/debug/vars", client=INTERNAL),  # internal caller
        harl(f"{H}/v1/administrators-guide"),  # look-alike segment
        harl(f"{H}/graphql2", method="POST", request_body=INTROSPECTION),  # not a graphql template
        harl(f"{H}/v1/graphql", method="POST", request_body='{"query": "{ me { id } }"}'),  # ordinary query
    ]
    analyze_lines(tmp_path, lines)
    return findings_of(tmp_path, InternalEndpointExposedCheck())


def test_flags_only_the_planted_endpoints(found):
    assert set(found) == {("GET", "/admin/users"), ("GET", "/actuator/env"), ("POST", "/internal/reindex"),
                          ("POST", "/graphql"), ("GET", "/internal/admin/flags")}


@pytest.mark.parametrize(
    ("endpoint", "kind", "owasp"),
    [
        (("GET", "/admin/users"), "admin", "API5:2023"),
        (("GET", "/actuator/env"), "actuator", "API8:2023"),  # Spring's actuator, not the debug rule's /env
        (("GET", "/internal/admin/flags"), "admin", "API5:2023"),  # first matching rule wins
        (("POST", "/internal/reindex"), "internal", "API9:2023"),
        (("POST", "/graphql"), "graphql_introspection", "API8:2023"),
    ],
)
def test_each_finding_names_its_kind_and_category(found, endpoint, kind, owasp):
    assert found[endpoint].evidence["kind"] == kind and found[endpoint].owasp.startswith(owasp)


@pytest.mark.parametrize(
    ("endpoint", "statuses"),
    [
        (("GET", "/actuator/env"), {"200": 1}),  # actuator and debug rules
        (("GET", "/internal/admin/flags"), {"200": 1, "204": 1}),  # admin and internal rules
    ],
)
def test_an_event_matching_several_rules_counts_once(found, endpoint, statuses):
    assert found[endpoint].evidence["statuses"] == statuses
    assert found[endpoint].evidence["events"] == sum(statuses.values())

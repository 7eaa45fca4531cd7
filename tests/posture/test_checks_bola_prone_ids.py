"""bola_prone_ids: sequential integer ids that one principal walks; opaque or owned ids stay clean."""

import base64
import random
import uuid

import pytest

from apisight.posture.checks.bola_prone_ids import BolaProneIdsCheck
from tests.posture.test_findings import (
    EXTERNAL,
    INTERNAL,
    SSN_BODY,
    analyze_lines,
    configured,
    findings_of,
    harl,
)

H = "https://api.bank.example"


def as_user(user: str) -> list[tuple[str, str]]:
    return [("Authorization", "Basic " + base64.b64encode(f"{user}:pw".encode()).decode())]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("bola")
    rng = random.Random(7)
    lines = (
        [harl(f"{H}/v1/accounts/{n}", headers=as_user("mallory"), body=SSN_BODY) for n in range(1001, 1016)]  # planted
        + [harl(f"{H}/v1/accounts/{n}", headers=as_user(f"user{n}"), body=SSN_BODY) for n in range(1016, 1030)]
        + [harl(f"{H}/v1/orders/{n}", headers=as_user("mallory"), body={"total": 3}) for n in range(500, 520, 2)]
        + [harl(f"{H}/v1/documents/{uuid.UUID(int=rng.getrandbits(128), version=4)}", headers=as_user("mallory"))
           for _ in range(15)]  # opaque ids
        + [harl(f"{H}/v1/invoices/{rng.randrange(10**8, 10**9)}", headers=as_user("mallory"))
           for _ in range(15)]  # random numbers: far apart
        + [harl(f"{H}/v1/customers/{n}", headers=as_user(f"user{n % 15}")) for n in range(1, 31)]  # 2 ids each
        + [harl(f"{H}/v1/cards/{n}", headers=as_user("mallory"), status=403) for n in range(1, 16)]  # all refused
        + [harl(f"{H}/v1/products/{n}") for n in range(1, 16)]  # a crawler of a public catalogue, no credential
        # a service on the internal network reading ledgers for its users: east-west, not a caller walking ids
        + [harl(f"{H}/v1/ledgers/{n}", headers=as_user("svc-statements"), client=INTERNAL, body=SSN_BODY)
           for n in range(1, 16)]
    )
    analyze_lines(tmp_path, lines)
    return tmp_path


@pytest.fixture(scope="module")
def found(data):
    return findings_of(data, BolaProneIdsCheck())


def test_flags_only_walked_sequential_ids(found):
    assert set(found) == {("GET", "/v1/accounts/{account_id}"), ("GET", "/v1/orders/{order_id}")}


def test_internal_callers_walking_ids_are_not_flagged(found):
    assert not any(path.startswith("/v1/ledgers/") for _, path in found)


@pytest.mark.parametrize(("client", "flagged"), [(EXTERNAL, True), (INTERNAL, False)])
def test_the_same_walk_counts_only_from_outside(tmp_path, client, flagged):
    analyze_lines(tmp_path, [harl(f"{H}/v1/ledgers/{n}", headers=as_user("svc-statements"), client=client)
                             for n in range(1, 16)])
    assert bool(findings_of(tmp_path, BolaProneIdsCheck())) is flagged


def test_sensitive_answers_make_it_high(found):
    f = found["GET", "/v1/accounts/{account_id}"]
    assert f.severity == "high" and f.owasp.startswith("API1:2023")
    assert f.evidence["id_params"] == ["{account_id}"] and f.evidence["distinct_ids"] == 29
    assert f.evidence["median_gap"] == 1 and f.evidence["max_ids_per_principal"] == 15
    assert f.evidence["principals"] == 1 and f.evidence["events"] == 15 and f.evidence["sensitive_types"] == ["us_ssn"]
    assert "mallory" not in str(f.evidence)


def test_without_sensitive_answers_it_is_medium(found):
    f = found["GET", "/v1/orders/{order_id}"]
    assert f.severity == "medium" and f.evidence["median_gap"] == 2 and f.evidence["sensitive_types"] == []


ACCOUNTS, ORDERS = "/v1/accounts/{account_id}", "/v1/orders/{order_id}"


@pytest.mark.parametrize(
    ("options", "flagged"),
    [
        ({"min_ids": 11}, {ACCOUNTS}),  # mallory read ten orders: now too few
        ({"min_ids": 2}, {ACCOUNTS, ORDERS, "/v1/customers/{customer_id}"}),  # two customers each now count
        ({"max_median_gap": 1}, {ACCOUNTS}),  # order ids two apart are no longer dense
        ({"max_median_gap": 10**9}, {ACCOUNTS, ORDERS, "/v1/invoices/{invoice_id}"}),  # random numbers now count
    ],
)
def test_settings_move_the_thresholds(data, options, flagged):
    found = findings_of(data, configured("bola_prone_ids", **options))
    assert {path for _, path in found} == flagged

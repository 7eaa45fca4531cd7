"""Matching observed (host, method, path) rows against spec templates: tables of cases."""

from __future__ import annotations

import textwrap
from pathlib import Path

import polars as pl
import pytest

from apisight.discovery.spec import Spec, load_spec
from apisight.discovery.spec_match import SpecMatcher, host_regex, template_regex

REAL_SPECS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "openapi"

ACCOUNTS = """
openapi: 3.0.0
info: {title: accounts, version: '1'}
servers: [{url: /v1}]
paths:
  /accounts/me: {get: {operationId: me}}
  /accounts/{account_id}:
    get: {operationId: getAccount}
    delete: {operationId: deleteAccount}
  /accounts/{account_id}/cards/{card_id}: {get: {operationId: getCard}}
  /accounts/{account_id}/cards/primary: {get: {operationId: primaryCard}}
  /files/{name}.json: {get: {operationId: jsonFile}}
  /files/{name}: {get: {operationId: anyFile}}
  /v1.0/a+b: {get: {operationId: dotted}}
  /: {get: {operationId: root}}
"""


def spec_from(tmp_path: Path, text: str, name: str = "spec.yaml") -> Spec:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return load_spec(path, validate=False)


def rows(*triples: tuple[str | None, str, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        [list(t) for t in triples],
        schema={"host": pl.String, "method": pl.String, "path": pl.String},
        orient="row",
    )


def match_one(matcher: SpecMatcher, host: str | None, method: str, path: str) -> tuple:
    out = matcher.match(rows((host, method, path))).row(0, named=True)
    return out["spec_template"], out["operation_id"], out["method_documented"]


ACCOUNT_CASES = [
    ("literal-beats-param", "GET", "/v1/accounts/me", "/v1/accounts/me", "me", True),
    ("param", "GET", "/v1/accounts/8812", "/v1/accounts/{account_id}", "getAccount", True),
    ("method-on-less-specific", "DELETE", "/v1/accounts/me", "/v1/accounts/{account_id}", "deleteAccount", True),
    ("method-undocumented", "PATCH", "/v1/accounts/8812", "/v1/accounts/{account_id}", None, False),
    ("undocumented-on-literal", "PATCH", "/v1/accounts/me", "/v1/accounts/me", None, False),
    ("lowercase-method", "get", "/v1/accounts/8812", "/v1/accounts/{account_id}", "getAccount", True),
    ("trailing-slash", "GET", "/v1/accounts/8812/", "/v1/accounts/{account_id}", "getAccount", True),
    ("deeper-literal-wins", "GET", "/v1/accounts/1/cards/primary", "/v1/accounts/{account_id}/cards/primary",
     "primaryCard", True),
    ("deeper-param", "GET", "/v1/accounts/1/cards/c_9", "/v1/accounts/{account_id}/cards/{card_id}", "getCard", True),
    ("mixed-segment-beats-param", "GET", "/v1/files/report.json", "/v1/files/{name}.json", "jsonFile", True),
    ("mixed-segment-no-fit", "GET", "/v1/files/report.csv", "/v1/files/{name}", "anyFile", True),
    ("literal-metachars", "GET", "/v1/v1.0/a+b", "/v1/v1.0/a+b", "dotted", True),
    ("metachars-are-literal", "GET", "/v1/v1x0/aab", None, None, None),
    ("root", "GET", "/v1", "/v1/", "root", True),
    ("root-slash", "GET", "/v1/", "/v1/", "root", True),
    ("param-one-segment", "GET", "/v1/accounts/1/2", None, None, None),
    ("param-not-empty", "GET", "/v1/accounts//cards/primary", None, None, None),
    ("literal-case-sensitive", "GET", "/v1/Accounts/me", None, None, None),
    ("base-path-required", "GET", "/accounts/me", None, None, None),
    ("base-path-case", "GET", "/V1/accounts/me", None, None, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "method", "path", "template", "operation_id", "documented"),
    ACCOUNT_CASES,
    ids=[c[0] for c in ACCOUNT_CASES],
)
def test_accounts_table(tmp_path, case, method, path, template, operation_id, documented):
    matcher = SpecMatcher([spec_from(tmp_path, ACCOUNTS)])
    assert match_one(matcher, "api.example.com", method, path) == (template, operation_id, documented)


HOSTS_A = """
openapi: 3.0.0
info: {title: a, version: '1'}
servers: [{url: 'https://api.example.com/v1'}]
paths:
  /users/{id}: {get: {operationId: a.getUser}}
"""
HOSTS_ANY = """
openapi: 3.0.0
info: {title: any, version: '1'}
servers: [{url: /v1}]
paths:
  /users/me: {get: {operationId: any.me}}
  /users/{id}: {get: {operationId: any.getUser}}
"""
REGIONS = """
openapi: 3.0.0
info: {title: regions, version: '1'}
servers: [{url: 'https://{region}.api.example.com/v2', variables: {region: {default: eu}}}]
paths:
  /items: {get: {operationId: regions.items}}
"""

HOST_CASES = [
    ("bound-host", "api.example.com", "/v1/users/7", "a.getUser"),
    ("host-with-port", "api.example.com:8443", "/v1/users/7", "a.getUser"),
    ("host-case", "API.Example.COM", "/v1/users/7", "a.getUser"),
    ("bound-host-beats-literal-elsewhere", "api.example.com", "/v1/users/me", "a.getUser"),
    ("other-host-uses-any", "other.example.com", "/v1/users/me", "any.me"),
    ("other-host-param", "other.example.com", "/v1/users/7", "any.getUser"),
    ("null-host-uses-any", None, "/v1/users/7", "any.getUser"),
    ("region-wildcard", "eu.api.example.com", "/v2/items", "regions.items"),
    ("region-other", "us.api.example.com", "/v2/items", "regions.items"),
    ("region-one-label", "a.b.api.example.com", "/v2/items", None),
    ("region-wrong-domain", "eu.api.example.org", "/v2/items", None),
]


@pytest.mark.parametrize(("case", "host", "path", "operation_id"), HOST_CASES, ids=[c[0] for c in HOST_CASES])
def test_hosts_table(tmp_path, case, host, path, operation_id):
    specs = [spec_from(tmp_path, text, f"{i}.yaml") for i, text in enumerate([HOSTS_ANY, HOSTS_A, REGIONS])]
    assert match_one(SpecMatcher(specs), host, "GET", path)[1] == operation_id


def test_spec_with_host_matches_only_that_host(tmp_path):
    matcher = SpecMatcher([spec_from(tmp_path, HOSTS_A)])
    out = matcher.match(
        rows(("api.example.com", "GET", "/v1/users/7"), ("evil.example.com", "GET", "/v1/users/7"))
    )
    assert out["operation_id"].to_list() == ["a.getUser", None]


def test_first_spec_wins_a_tie(tmp_path):
    first, second = (
        spec_from(tmp_path, HOSTS_ANY, "first.yaml"),
        spec_from(tmp_path, HOSTS_ANY, "second.yaml"),
    )
    out = SpecMatcher([first, second]).match(rows(("h", "GET", "/v1/users/7")))
    assert out["spec_file"].to_list() == [str(first.path)]


def test_match_keeps_columns_and_order(tmp_path):
    frame = rows(
        ("h", "GET", "/nope"),
        ("h", "GET", "/v1/accounts/me"),
        ("h", "GET", None),
        ("h", "GET", "/v1/accounts/5"),
    ).with_columns(pl.Series("count", [1, 2, 3, 4]))
    out = SpecMatcher([spec_from(tmp_path, ACCOUNTS)]).match(frame)
    assert out.columns == ["host", "method", "path", "count", "spec_template", "spec_file", "operation_id",
                           "method_documented"]  # fmt: skip
    assert out["count"].to_list() == [1, 2, 3, 4]
    assert out["spec_template"].to_list() == [None, "/v1/accounts/me", None, "/v1/accounts/{account_id}"]
    assert out["method_documented"].to_list() == [None, True, None, True]


@pytest.mark.parametrize("specs", ["none", "empty-frame"])
def test_nothing_to_match(tmp_path, specs):
    matcher = SpecMatcher([] if specs == "none" else [spec_from(tmp_path, ACCOUNTS)])
    frame = rows(("h", "GET", "/v1/accounts/me"))
    out = matcher.match(frame if specs == "none" else frame.clear())
    assert out.schema["spec_template"] == pl.String and out.schema["method_documented"] == pl.Boolean
    assert out["spec_template"].to_list() == ([None] if specs == "none" else [])


def test_operation_lookup(tmp_path):
    spec = spec_from(tmp_path, ACCOUNTS)
    matcher = SpecMatcher([spec])
    found = matcher.operation(str(spec.path), "delete", "/v1/accounts/{account_id}")
    assert found is not None and found.operation_id == "deleteAccount"
    assert matcher.operation(str(spec.path), "PATCH", "/v1/accounts/{account_id}") is None


@pytest.mark.parametrize(
    ("template", "regex"),
    [
        ("/v1/accounts/{id}", "^/v1/accounts/[^/]+/?$"),
        ("/files/{name}.{ext}", r"^/files/[^/]+\.[^/]+/?$"),
        ("/mechanic/", "^/mechanic/?$"),
        ("/", "^/?$"),
    ],
)
def test_template_regex(template, regex):
    assert template_regex(template) == regex


def test_host_regex():
    assert host_regex("{region}.api.example.com") == r"^[^./]+\.api\.example\.com$"


# --- real specs -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_matcher() -> SpecMatcher:
    names = ["ukob_v4.0_account-info-openapi.yaml", "crapi-openapi-spec.json", "vampi_openapi3.yml"]
    missing = [n for n in names if not (REAL_SPECS / n).is_file()]
    if missing:
        pytest.skip(
            f"real OpenAPI documents are not checked out at {REAL_SPECS} (missing {', '.join(missing)})"
        )
    return SpecMatcher([load_spec(REAL_SPECS / n, validate=False) for n in names])


UKOB = "/open-banking/v4.0/aisp"
REAL_CASES = [
    ("ukob-base-path", "GET", f"{UKOB}/accounts/22289", f"{UKOB}/accounts/{{AccountId}}", "GetAccountsAccountId"),
    ("ukob-nested", "GET", f"{UKOB}/accounts/22289/statements/s1/file",
     f"{UKOB}/accounts/{{AccountId}}/statements/{{StatementId}}/file", "GetAccountsAccountIdStatementsStatementIdFile"),
    ("ukob-bulk", "GET", f"{UKOB}/balances", f"{UKOB}/balances", "GetBalances"),
    ("ukob-without-base", "GET", "/accounts/22289", None, None),
    ("ukob-other-version", "GET", "/open-banking/v3.1/aisp/accounts/22289", None, None),
    ("ukob-method-undocumented", "DELETE", f"{UKOB}/accounts/22289", f"{UKOB}/accounts/{{AccountId}}", None),
    ("crapi-literal", "GET", "/identity/api/v2/user/videos/convert_video",
     "/identity/api/v2/user/videos/convert_video", "convert_profile_video"),
    ("crapi-param", "GET", "/identity/api/v2/user/videos/42", "/identity/api/v2/user/videos/{video_id}",
     "get_profile_video"),
    ("crapi-recent", "GET", "/community/api/v2/community/posts/recent", "/community/api/v2/community/posts/recent",
     "get_recent_posts"),
    ("crapi-get-return-order", "GET", "/workshop/api/shop/orders/return_order",
     "/workshop/api/shop/orders/{order_id}", "get_order_byID"),
    ("crapi-trailing-slash-template", "GET", "/workshop/api/mechanic", "/workshop/api/mechanic/", "get_mechanics"),
    ("vampi-root", "GET", "/", "/", "api_views.main.basic"),
    ("vampi-literal", "GET", "/users/v1/_debug", "/users/v1/_debug", "api_views.users.debug"),
    ("vampi-param", "PUT", "/users/v1/alice/email", "/users/v1/{username}/email", "api_views.users.update_email"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "method", "path", "template", "operation_id"), REAL_CASES, ids=[c[0] for c in REAL_CASES]
)
def test_real_specs_table(real_matcher, case, method, path, template, operation_id):
    got_template, got_id, _ = match_one(real_matcher, "bank.example.com", method, path)
    assert (got_template, got_id) == (template, operation_id)


def test_many_distinct_rows(real_matcher):
    n = 20_000
    frame = pl.DataFrame(
        {
            "host": ["bank.example.com"] * n,
            "method": ["GET"] * n,
            "path": [f"{UKOB}/accounts/{i}/transactions" if i % 2 else f"/unknown/{i}" for i in range(n)],
        }
    )
    out = real_matcher.match(frame)
    assert out.height == n
    assert out["operation_id"].null_count() == n // 2
    assert out.filter(pl.col("operation_id").is_not_null())["spec_template"].unique().to_list() == [
        f"{UKOB}/accounts/{{AccountId}}/transactions"
    ]

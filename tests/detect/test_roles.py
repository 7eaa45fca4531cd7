"""Endpoint roles: inferred from method and template, overridden by configured rules."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import yaml

from apisight.config import RoleRule
from apisight.detect.roles import ROLES, endpoint_roles, id_position, infer_role

SPECS = Path("/work/shared/data/openapi")

ROLE_TABLE = [
    # login and token
    ("POST", "/v2/auth/login", "login"),
    ("POST", "/v2/sessions", "login"),
    ("POST", "/api/signin", "login"),
    ("POST", "/v1/authenticate", "login"),
    ("GET", "/v2/auth/login", "collection"),  # a login page, not a login
    ("POST", "/oauth2/token", "token"),
    ("POST", "/oauth/token", "token"),
    ("POST", "/v2/token/refresh", "token"),
    # account recovery and second factor
    ("POST", "/v2/password/reset", "password_reset"),
    ("POST", "/v2/forgot-password", "password_reset"),
    ("PUT", "/v2/users/password-recover", "password_reset"),
    ("POST", "/v2/mfa/verify", "mfa"),
    ("POST", "/v2/otp", "mfa"),
    ("PATCH", "/v2/2fa", "mfa"),
    # sensitive actions
    ("PATCH", "/v2/me", "profile_change"),
    ("PUT", "/v2/customers/{customerId}", "profile_change"),
    ("PUT", "/v2/users/{userId}/phone", "profile_change"),
    ("POST", "/v2/profile/email", "profile_change"),
    ("POST", "/v2/payees", "payee_add"),
    ("PUT", "/v2/beneficiaries", "payee_add"),
    ("POST", "/v2/payments", "payment"),
    ("POST", "/v2/domestic-payments", "payment"),
    ("POST", "/v2/transfers", "payment"),
    ("GET", "/v2/payments", "collection"),  # listing payments is not paying
    ("GET", "/v2/statements/export", "export"),
    ("POST", "/v2/exports", "export"),
    ("GET", "/v2/documents/{documentId}/download", "export"),
    # functions no outside client should call
    ("GET", "/admin/users", "admin"),
    ("DELETE", "/internal/cache", "admin"),
    ("GET", "/actuator/env", "admin"),
    ("GET", "/actuator/heapdump", "admin"),
    ("GET", "/metrics", "admin"),
    ("POST", "/admin/login", "admin"),  # admin wins over login
    # reads
    ("GET", "/v2/accounts/{accountId}", "object_read"),
    ("HEAD", "/v2/cards/{cardId}", "object_read"),
    ("DELETE", "/v2/cards/{cardId}", "object_read"),
    ("GET", "/v2/accounts", "collection"),
    ("GET", "/v2/accounts/{accountId}/transactions", "collection"),
    # the rest
    ("POST", "/v2/orders", "other"),
    ("DELETE", "/v2/accounts", "other"),
    ("OPTIONS", "/v2/accounts", "other"),
]


@pytest.mark.parametrize(("method", "template", "role"), ROLE_TABLE)
def test_infer_role(method, template, role):
    assert infer_role(method, template) == role


def test_the_table_covers_every_role():
    assert {role for _, _, role in ROLE_TABLE} == set(ROLES)


def test_method_and_case_do_not_matter_for_matching():
    assert infer_role("post", "/V2/Auth/LOGIN") == "login"
    assert infer_role(None, None) == "other"  # type: ignore[arg-type]


@pytest.mark.parametrize(("method", "template", "role"), [
    pytest.param("POST", "/v2/auth/mfa", "mfa", id="mfa-under-auth"),
    pytest.param("POST", "/identity/api/auth/v3/check-otp", "mfa", id="crapi-check-otp"),
    pytest.param("POST", "/identity/api/auth/forget-password", "password_reset", id="crapi-forget-password"),
    pytest.param("POST", "/identity/api/v2/user/change-email", "profile_change", id="crapi-change-email"),
    pytest.param("POST", "/identity/api/auth/signup", "other", id="crapi-signup"),
])
def test_roles_the_inference_gets_wrong(method, template, role):
    assert infer_role(method, template) == role


# --- real public specs ----------------------------------------------------------------------------------

SPEC_CASES = [
    ("crapi-openapi-spec.json", "POST", "/identity/api/auth/login", "login"),
    ("crapi-openapi-spec.json", "POST", "/identity/api/auth/v4.0/user/login-with-token", "login"),
    ("crapi-openapi-spec.json", "POST", "/identity/api/v2/user/reset-password", "password_reset"),
    ("crapi-openapi-spec.json", "DELETE", "/identity/api/v2/admin/videos/{video_id}", "admin"),
    ("crapi-openapi-spec.json", "GET", "/workshop/api/management/users/all", "admin"),
    ("crapi-openapi-spec.json", "GET", "/workshop/api/shop/orders/{order_id}", "object_read"),
    ("crapi-openapi-spec.json", "GET", "/community/api/v2/community/posts/{postId}", "object_read"),
    ("crapi-openapi-spec.json", "GET", "/workshop/api/shop/products", "collection"),
    ("crapi-openapi-spec.json", "POST", "/workshop/api/shop/orders", "other"),
    ("vampi_openapi3.yml", "POST", "/users/v1/login", "login"),
    ("vampi_openapi3.yml", "GET", "/users/v1/_debug", "admin"),
    ("vampi_openapi3.yml", "PUT", "/users/v1/{username}/email", "profile_change"),
    ("vampi_openapi3.yml", "PUT", "/users/v1/{username}/password", "profile_change"),
    ("vampi_openapi3.yml", "GET", "/users/v1/{username}", "object_read"),
    ("vampi_openapi3.yml", "GET", "/books/v1", "collection"),
    ("vampi_openapi3.yml", "POST", "/users/v1/register", "other"),
    ("ukob_v4.0_account-info-openapi.yaml", "GET", "/accounts/{AccountId}", "object_read"),
    ("ukob_v4.0_account-info-openapi.yaml", "GET", "/accounts/{AccountId}/transactions", "collection"),
    ("ukob_v4.0_account-info-openapi.yaml", "GET", "/accounts/{AccountId}/statements/{StatementId}", "object_read"),
    ("ukob_v4.0_account-info-openapi.yaml", "GET", "/beneficiaries", "collection"),
    ("ukob_v4.0_account-info-openapi.yaml", "POST", "/account-access-consents", "other"),
]

_specs: dict[str, dict] = {}


def spec_paths(name: str) -> dict:
    if name not in _specs:
        path = SPECS / name
        if not path.is_file():
            pytest.skip(f"{path} not present")
        text = path.read_text(encoding="utf-8")
        _specs[name] = (json.loads(text) if name.endswith(".json") else yaml.safe_load(text))["paths"]
    return _specs[name]


@pytest.mark.parametrize(("spec", "method", "template", "role"), SPEC_CASES)
def test_roles_of_real_public_spec_endpoints(spec, method, template, role):
    assert method.lower() in spec_paths(spec)[template]  # the case is the spec's, not made up
    assert infer_role(method, template) == role


@pytest.mark.parametrize("spec", sorted({s for s, *_ in SPEC_CASES}))
def test_every_operation_of_a_real_spec_gets_a_known_role(spec):
    ops = [(m.upper(), p) for p, item in spec_paths(spec).items() for m in item
           if m in {"get", "put", "post", "delete", "patch", "head"}]
    roles = endpoint_roles(pl.DataFrame(ops, schema=["method", "path"], orient="row").with_columns(
        pl.lit("api.example").alias("host")), [])
    assert roles.height == len(set(ops)) and set(roles["role"]) <= set(ROLES)
    assert set(roles["origin"]) == {"inferred"}


# --- configured rules -----------------------------------------------------------------------------------


def endpoints(*rows: tuple[str | None, str, str]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={"host": pl.String, "method": pl.String, "path": pl.String}, orient="row")


def role_of(roles: pl.DataFrame, host: str | None, method: str, path: str) -> tuple[str, str]:
    row = roles.filter(pl.col("host").eq_missing(host) & (pl.col("method") == method) & (pl.col("path") == path))
    (found,) = row.select("role", "origin").iter_rows()
    return found


def test_configured_rules_win_over_inference():
    frame = endpoints(("api.bank.example", "POST", "/v2/auth/signup"), ("api.bank.example", "GET", "/v2/rates"),
                      ("partner.bank.example", "GET", "/v2/rates"), ("api.bank.example", "GET", "/ops/health"),
                      ("api.bank.example", "POST", "/ops/health"), (None, "GET", "/v2/accounts"))
    rules = [RoleRule(path="/v2/auth/signup", role="other"),
             RoleRule(path="/v2/rates", role="export", host="partner.bank.example"),
             RoleRule(path="/ops/*", role="admin", method="get"),
             RoleRule(path="/v2/*", role="collection")]
    roles = endpoint_roles(frame, rules)
    assert role_of(roles, "api.bank.example", "POST", "/v2/auth/signup") == ("other", "configured")
    assert role_of(roles, "partner.bank.example", "GET", "/v2/rates") == ("export", "configured")
    assert role_of(roles, "api.bank.example", "GET", "/v2/rates") == ("collection", "configured")  # the later glob
    assert role_of(roles, "api.bank.example", "GET", "/ops/health") == ("admin", "configured")
    assert role_of(roles, "api.bank.example", "POST", "/ops/health") == ("other", "inferred")  # method filter
    assert role_of(roles, None, "GET", "/v2/accounts") == ("collection", "configured")


def test_the_first_matching_rule_wins():
    rules = [RoleRule(path="/v2/payments", role="other"), RoleRule(path="/v2/*", role="payment")]
    roles = endpoint_roles(endpoints(("h", "POST", "/v2/payments")), rules)
    assert role_of(roles, "h", "POST", "/v2/payments") == ("other", "configured")


def test_an_unknown_configured_role_is_refused():
    with pytest.raises(ValueError, match="role"):
        RoleRule(path="/x", role="superuser")  # type: ignore[arg-type]


# --- id position ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("template", "position"), [
    ("/v2/accounts/{accountId}", 3),
    ("/v2/accounts/{accountId}/transactions", 3),
    ("/v2/customers/{customerId}/accounts/{accountId}", 5),
    ("/v2/customers/{customerId}/accounts/{accountId}/statements", 5),
    ("{id}", 0),
    ("/v2/accounts", None),
    ("/v2/accounts/", None),
    ("/v2/{prefix}suffix", None),
    ("", None),
    (None, None),
])
def test_id_position(template, position):
    assert id_position(template) == position
    if position is not None:
        assert template.split("/")[position].startswith("{")

import base64
from datetime import UTC, datetime

import jwt
import polars as pl
import pytest

from apisight.fingerprints import Fingerprinter
from apisight.normalize import auth
from apisight.normalize.auth import (
    CredentialMemo,
    authorization_columns,
    inspect_authorization,
    looks_like_key,
)

FP = Fingerprinter(b"0123456789abcdef0123456789abcdef")
TOKEN = jwt.encode(
    {"sub": "cust-1042", "iss": "https://id.demobank.example", "client_id": "mobile-ios", "exp": 1795000000},
    "a-demo-signing-secret-of-32-bytes!",
    algorithm="HS256",
)


def test_bearer_jwt_claims_without_verification():
    c = inspect_authorization(f"Bearer {TOKEN}", FP)
    assert (c.auth_scheme, c.principal, c.jwt_alg, c.jwt_iss, c.jwt_client_id) == (
        "bearer", "cust-1042", "HS256", "https://id.demobank.example", "mobile-ios")
    assert c.jwt_exp == datetime.fromtimestamp(1795000000, UTC)
    assert c.credential_fp == FP(TOKEN)
    assert TOKEN not in repr(c)


def test_alg_none_token_is_still_read():
    unsigned = jwt.encode({"sub": "mallory"}, None, algorithm="none")
    c = inspect_authorization("bearer " + unsigned, FP)
    assert (c.principal, c.jwt_alg) == ("mallory", "none")


@pytest.mark.parametrize(
    ("header", "scheme", "principal"),
    [
        ("Basic " + base64.b64encode(b"ops-user:hunter2").decode(), "basic", "ops-user"),
        ("Basic !!!notbase64", "basic", None),
        ("Bearer 2YotnFZFEjr1zCsicMWpAA", "bearer", None),  # opaque OAuth token
        ("Digest username=\"x\", realm=\"r\"", "other", None),
    ],
)
def test_other_schemes(header, scheme, principal):
    c = inspect_authorization(header, FP)
    assert (c.auth_scheme, c.principal) == (scheme, principal)
    assert c.credential_fp and len(c.credential_fp) == 16


def test_fingerprints_are_keyed():
    assert FP("secret") != Fingerprinter(b"another-key-of-sixteen+bytes")("secret")
    assert FP("secret") == FP("secret")


def test_a_token_is_inspected_once_across_batches_and_the_memo_stays_bounded(monkeypatch):
    calls = []
    monkeypatch.setattr(auth, "inspect_authorization", lambda v, fp: calls.append(v) or inspect_authorization(v, fp))
    memo = CredentialMemo()
    batch = pl.Series([f"Bearer {TOKEN}", None, f"Bearer {TOKEN}"], dtype=pl.String)
    first, again = authorization_columns(batch, FP, memo), authorization_columns(batch, FP, memo)
    assert again.equals(first) and first.equals(authorization_columns(batch, FP))
    assert calls.count(f"Bearer {TOKEN}") == 2  # this batch twice with the memo, once without
    assert not any(TOKEN.encode() in key for key in memo)  # keyed by a digest, not the token
    monkeypatch.setattr(auth, "MEMO_ENTRIES", 2)
    basic = ["Basic " + base64.b64encode(f"{user}:pw".encode()).decode() for user in ("a", "b")]
    authorization_columns(pl.Series(basic[:1]), FP, memo)  # a joins the token: the memo is full
    authorization_columns(pl.Series([f"Bearer {TOKEN}"]), FP, memo)  # a hit: the token is the most recent
    authorization_columns(pl.Series(basic[1:]), FP, memo)  # b comes in, a (least recently used) goes
    assert len(memo) == 2 and calls.count(f"Bearer {TOKEN}") == 2
    for value in (f"Bearer {TOKEN}", basic[0]):  # one at a time: a batch's distinct values come in any order
        authorization_columns(pl.Series([value]), FP, memo)
    assert calls.count(f"Bearer {TOKEN}") == 2 and calls.count(basic[0]) == 2


def test_columns_follow_rows_and_nulls():
    values = pl.Series([f"Bearer {TOKEN}", None, f"Bearer {TOKEN}"], dtype=pl.String)
    cols = authorization_columns(values, FP)
    assert cols["principal"].to_list() == ["cust-1042", None, "cust-1042"]
    assert cols["auth_scheme"].to_list() == ["bearer", None, "bearer"]


def basic(raw: str) -> str:
    return "Basic " + base64.b64encode(raw.encode()).decode()


STRIPE_KEY = "sk_live_51Hs8dKJl2k3j4h5g6f7d8s9aQwErTy"


@pytest.mark.parametrize(
    ("decoded", "principal"),
    [
        ("ops-user:hunter2", "ops-user"),
        ("ann@example.com:pw", "ann@example.com"),
        ("service-account-user-2024:pw", "service-account-user-2024"),
        ("firstName_lastName:pw", "firstName_lastName"),
        ("ops-user:", "ops-user"),
        (STRIPE_KEY + ":", None),  # Stripe: the secret key is the user, the password empty
        ("pk_test_abc:", None),
        ("rk_live_abc:x", None),
        ("key_abc:x", None),
        ("J8JuUf3gm9PZyDSM2Hc4:X", None),  # Freshdesk-style random key as the user
        ("0193f260ec66693bc3f5a1b2c3d4e5f6:", None),  # hex key (Recurly, BambooHR)
        ("a9cfa2ff-58dc-46e9-9c3f-73894c11c10d:s", None),  # UUID
        ("hunter2", None),  # no ':' — the whole value is a secret
        (STRIPE_KEY, None),
        (":only-password", None),
    ],
)
def test_basic_principal_never_holds_a_key(decoded, principal):
    header = basic(decoded)
    c = inspect_authorization(header, FP)
    assert (c.auth_scheme, c.principal) == ("basic", principal)
    assert c.credential_fp == FP(header.split(" ", 1)[1])  # still tells callers apart


@pytest.mark.parametrize(
    ("user", "key_like"),
    [
        ("sk_live_abc", True),
        ("SK_TEST_abc", True),
        ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", True),
        ("dFYpKrjKYlXEMAzzdVzUwq", True),  # mixed case, no digits
        ("12345678901234567890", True),
        ("bob", False),
        ("ann@example.com", False),
        ("integration_test_user_01", False),
        ("reporting-service-prod-01", False),
        ("backup_operator_account", False),
        ("short1a2b3c", False),
    ],
)
def test_looks_like_key(user, key_like):
    assert looks_like_key(user) == key_like

import base64
from datetime import UTC, datetime

import jwt
import polars as pl
import pytest

from apisight.fingerprints import Fingerprinter
from apisight.normalize.auth import authorization_columns, inspect_authorization

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


def test_columns_follow_rows_and_nulls():
    values = pl.Series([f"Bearer {TOKEN}", None, f"Bearer {TOKEN}"], dtype=pl.String)
    cols = authorization_columns(values, FP)
    assert cols["principal"].to_list() == ["cust-1042", None, "cust-1042"]
    assert cols["auth_scheme"].to_list() == ["bearer", None, "bearer"]

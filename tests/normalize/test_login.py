"""The account name tried at a login and the session cookie: fingerprinted, never kept."""

from __future__ import annotations

import polars as pl
import pytest

from apisight.fingerprints import Fingerprinter
from apisight.normalize.login import login_fingerprints, session_fingerprints

FP = Fingerprinter(b"k" * 32)


@pytest.mark.parametrize(("path", "body", "name"), [
    ("/v1/auth/login", '{"username": "Alice@Example.com", "password": "x"}', "alice@example.com"),
    ("/oauth/token", "grant_type=password&username=bob%40bank.example&password=y", "bob@bank.example"),
    ("/identity/api/auth/login", '{"email":"carol@example.org","password":"z"}', "carol@example.org"),
    ("/oauth2/token", "grant_type=client_credentials&client_id=acme-prod&client_secret=s", "acme-prod"),
    ("/v2/customers/me", '{"email": "new@example.com"}', None),  # a profile change, not a login
    ("/v1/auth/login", None, None),
    ("/v1/auth/login", '{"otp": "123456"}', None),
])
def test_the_account_name_of_a_login(path, body, name):
    frame = pl.DataFrame({"path": [path], "request_body": [body]}, schema={"path": pl.String, "request_body": pl.String})
    assert login_fingerprints(frame, FP).to_list() == [FP(name) if name else None]


@pytest.mark.parametrize(("cookie", "session"), [
    ("JSESSIONID=8f14e45fceea167a5a36", "8f14e45fceea167a5a36"),
    ("theme=dark; session=abcdefgh12345678; lang=en", "abcdefgh12345678"),
    ("connect.sid=s%3Aabcdefghij.xyz", "s%3Aabcdefghij.xyz"),
    ("myapp_session=0123456789abcdef", "0123456789abcdef"),
    ("PHPSESSID=0123456789ab", "0123456789ab"),
    ("theme=dark; lang=en", None),
    ("sid=short", None),  # too short to be a session identifier
    (None, None),
])
def test_the_session_cookie(cookie, session):
    assert session_fingerprints(pl.Series([cookie], dtype=pl.String), FP).to_list() == [FP(session) if session else None]

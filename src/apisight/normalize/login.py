"""Who a request speaks for before any token says so: the account name a client submits
to a login, token or password-reset endpoint, and the session cookie it carries.

The account name a client submits to a login, token or password-reset endpoint.

Credential stuffing and brute force are about *which accounts* a client tries, which
no header says: the name is in the request body (JSON or form) of an authentication
call. It is fingerprinted (keyed HMAC) so detectors can count distinct accounts and
follow one across events; the name itself is never kept.
"""

from __future__ import annotations

import polars as pl

from apisight.fingerprints import Fingerprinter
from apisight.normalize.auth import fingerprint_values

#: Paths of authentication calls (matched case-insensitively anywhere in the path).
AUTH_PATH = r"(?i)(log-?in|sign-?in|sign-?on|auth|token|session|password|passwd|otp|mfa|2fa|verify|credential)"

#: Body fields that name the account, in JSON (``"username": "..."``) or form encoding.
_NAMES = r"username|user_name|userName|login|loginId|login_id|email|emailAddress|email_address|user|userid|user_id|client_id"
_JSON_NAME = rf'"(?:{_NAMES})"\s*:\s*"([^"\\]{{1,256}})"'
_FORM_NAME = rf"(?:^|&)(?:{_NAMES})=([^&]{{1,256}})"


#: Session cookies by name: ``session``, ``sessionid``, ``sid``, ``JSESSIONID``, ``connect.sid``, ``*_session``...
_SESSION_COOKIE = (r"(?i)(?:^|;)\s*(?:[a-z0-9_.-]*sess(?:ion)?(?:_?id)?|sid|jsessionid|phpsessid|connect\.sid|"
                   r"asp\.net_sessionid)=([^;\s]{8,4096})")


def session_fingerprints(cookies: pl.Series, fingerprint: Fingerprinter) -> pl.Series:
    """``session_fp`` per row: the fingerprint of the session cookie in the ``Cookie`` header."""
    values = cookies.str.extract(_SESSION_COOKIE)
    return fingerprint_values(values, fingerprint).alias("session_fp")


def login_fingerprints(frame: pl.DataFrame, fingerprint: Fingerprinter) -> pl.Series:
    """``login_fp`` per row: the fingerprint of the submitted account name, lower-cased."""
    path = frame["path"] if "path" in frame.columns else pl.Series([None] * frame.height, dtype=pl.String)
    body = frame["request_body"] if "request_body" in frame.columns else None
    if body is None or body.null_count() == frame.height:
        return pl.Series("login_fp", [None] * frame.height, dtype=pl.String)
    names = pl.select(
        pl.when(path.str.contains(AUTH_PATH) & body.is_not_null())
        .then(pl.coalesce(body.str.extract(_JSON_NAME), body.str.extract(_FORM_NAME).str.replace_all("%40", "@")))
        .str.strip_chars()
        .str.to_lowercase()
    ).to_series()
    return fingerprint_values(names, fingerprint).alias("login_fp")

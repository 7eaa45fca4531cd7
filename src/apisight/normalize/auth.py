"""Authentication: scheme, principal and a fingerprint of the credential — never the secret.

Credentials are looked at once per distinct value (tokens repeat across a session), so
the cost follows the number of sessions, not of requests. JWT claims are decoded
without verifying the signature: apisight observes, it does not authenticate.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import polars as pl

from apisight.events import TIMESTAMP
from apisight.fingerprints import Fingerprinter

AUTH_COLUMNS: dict[str, Any] = {
    "auth_scheme": pl.String,
    "principal": pl.String,
    "credential_fp": pl.String,
    "jwt_alg": pl.String,
    "jwt_iss": pl.String,
    "jwt_client_id": pl.String,
    "jwt_exp": TIMESTAMP,
}


@dataclass(frozen=True)
class Credential:
    """What can be said about one Authorization header value without keeping it."""

    auth_scheme: str
    principal: str | None = None
    credential_fp: str | None = None
    jwt_alg: str | None = None
    jwt_iss: str | None = None
    jwt_client_id: str | None = None
    jwt_exp: datetime | None = None


def inspect_authorization(value: str, fingerprint: Fingerprinter) -> Credential:
    """Scheme, principal and claims of an ``Authorization`` header value.

    For ``Basic``, the principal is the user part of ``user:password``, and only when
    there is a ``:`` and the user does not look like a key (:func:`looks_like_key`):
    services such as Stripe, Freshdesk or Recurly send the secret key as the user with
    an empty password, and a value without ``:`` is all secret. In those cases there is
    no principal; the credential fingerprint still tells one caller from another.
    """
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    kind = scheme.lower()
    if kind == "bearer" and token:
        return _bearer(token, fingerprint)
    if kind == "basic" and token:
        return Credential("basic", _basic_user(token), fingerprint(token))
    return Credential("other", None, fingerprint(value.strip()))


def _basic_user(token: str) -> str | None:
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None
    user, colon, _ = decoded.partition(":")
    if not colon or not user or looks_like_key(user):
        return None
    return user


#: Prefixes of well-known API keys (Stripe sk_/pk_/rk_, OpenAI sk-, GitHub, GitLab, Slack).
KEY_PREFIXES = ("sk_", "sk-", "pk_", "rk_", "key_", "key-", "ghp_", "gho_", "github_pat_", "glpat-", "xox")
_KEY_CHARS = re.compile(r"[A-Za-z0-9_-]{20,}")


def looks_like_key(value: str) -> bool:
    """Whether a user name looks like an API key rather than a name.

    True for a known key prefix, or for 20 characters or more of ``[A-Za-z0-9_-]`` with
    a random-looking part: a run of 8 or more between ``-``/``_`` that switches between
    letters and digits at least twice (hex, UUIDs, base62), mixes upper and lower
    case about evenly, or is all digits. Names such as ``service-account-2024`` or
    ``firstName_lastName`` are not keys. Errs towards "key": a dropped principal costs
    less than a stored key.
    """
    if value.lower().startswith(KEY_PREFIXES):
        return True
    if not _KEY_CHARS.fullmatch(value):
        return False
    return any(_random_looking(part) for part in re.split(r"[-_]", value) if len(part) >= 8)


def _random_looking(part: str) -> bool:
    switches = sum(a.isdigit() != b.isdigit() for a, b in itertools.pairwise(part))
    if switches >= 2:
        return True
    upper = sum(c.isupper() for c in part)
    lower = sum(c.islower() for c in part)
    if upper + lower == 0:
        return True  # 8 digits or more: an account or card number is no name either
    return min(upper, lower) >= 0.3 * (upper + lower)


def _bearer(token: str, fingerprint: Fingerprinter) -> Credential:
    fp = fingerprint(token)
    decoded = decode_jwt(token)
    if decoded is None:
        return Credential("bearer", None, fp)  # an opaque token
    header, claims = decoded
    exp = claims.get("exp")
    expires = datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) and 0 < exp < 32503680000 else None
    client_id = claims.get("client_id") or claims.get("azp") or claims.get("cid")
    subject = claims.get("sub") or claims.get("preferred_username") or claims.get("username")
    alg = header.get("alg")
    return Credential(
        "bearer",
        str(subject) if subject is not None else None,
        fp,
        str(alg) if alg is not None else None,
        str(claims["iss"]) if claims.get("iss") is not None else None,
        str(client_id) if client_id is not None else None,
        expires,
    )


def decode_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Header and claims of a JWS compact token, without verifying it; None if it is not one.

    Hand-rolled on purpose: PyJWT's unverified decode validates more than is needed
    here and was the most expensive step of normalising HAR traffic.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = orjson.loads(_b64url(parts[0]))
        claims = orjson.loads(_b64url(parts[1]))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    return header, claims


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


#: Authorization values whose inspection a :class:`CredentialMemo` keeps.
MEMO_ENTRIES = 16_384


class CredentialMemo(OrderedDict[bytes, "Credential"]):
    """Inspected Authorization values, least recently used dropped past :data:`MEMO_ENTRIES`.

    A client sends the same token for its session's life, across many batches: decoding
    and fingerprinting it once per process, not once per batch, took a tenth off the
    normalisation of HAR traffic. Keyed by a digest of the value, so the memo holds no
    token or password (the credentials it keeps carry fingerprints only).
    """

    def inspect(self, value: str, fingerprint: Fingerprinter) -> Credential:
        key = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        found = self.get(key)
        if found is not None:
            self.move_to_end(key)
            return found
        found = self[key] = inspect_authorization(value, fingerprint)
        if len(self) > MEMO_ENTRIES:
            self.popitem(last=False)
        return found


def authorization_columns(
    authorization: pl.Series, fingerprint: Fingerprinter, memo: CredentialMemo | None = None
) -> pl.DataFrame:
    """The :data:`AUTH_COLUMNS` for each Authorization value (null where there is none)."""
    unique = authorization.drop_nulls().unique()
    memo = CredentialMemo() if memo is None else memo
    rows = [memo.inspect(v, fingerprint) for v in unique]
    lookup = pl.DataFrame(
        {
            "_auth": unique,
            **{name: [getattr(r, name) for r in rows] for name in AUTH_COLUMNS},
        },
        schema={"_auth": pl.String, **AUTH_COLUMNS},
    )
    return (
        authorization.alias("_auth")
        .to_frame()
        .join(lookup, on="_auth", how="left", maintain_order="left")
        .drop("_auth")
    )


def fingerprint_values(values: pl.Series, fingerprint: Fingerprinter) -> pl.Series:
    """A fingerprint per value, computed once per distinct value."""
    unique = values.drop_nulls().unique()
    lookup = dict(zip(unique.to_list(), (fingerprint(v) for v in unique), strict=True))
    return values.replace_strict(lookup, default=None, return_dtype=pl.String)

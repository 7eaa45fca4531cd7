"""DemoBank's identity provider: the access tokens it signs, and the ones it should not accept.

Session tokens are EdDSA (Ed25519) JWTs from one published demo key: asymmetric, so the
bank's ordinary traffic shows no weak-JWT posture finding, and deterministic (Ed25519
signatures depend on the key and message only), so the same seed writes the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from apisight.demo import bank

ALGORITHM = "EdDSA"
KEY_ID = "demobank-2026-11"


@cache
def signing_key() -> Ed25519PrivateKey:
    """The demo identity provider's key, derived from a published seed. Not a secret."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(bank.JWT_KEY_SEED.encode()).digest())


def public_key() -> Ed25519PublicKey:
    """What a verifier of demo tokens uses (``jwt.decode(token, public_key(), algorithms=["EdDSA"])``)."""
    return signing_key().public_key()


def sign(claims: dict[str, Any]) -> str:
    """A JWT signed by the bank's identity provider."""
    return jwt.encode(claims, signing_key(), algorithm=ALGORITHM, headers={"kid": KEY_ID})


def unsigned(claims: dict[str, Any]) -> str:
    """A forged ``alg: none`` JWT (no signature): what a verifier must refuse."""
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def session_claims(customer_id: int, client_id: str, iat: int, exp: int) -> dict[str, Any]:
    """The claims of a customer's session token."""
    return {"sub": str(customer_id), "iss": bank.JWT_ISSUER, "client_id": client_id, "iat": iat, "exp": exp,
            "scope": "accounts payments"}

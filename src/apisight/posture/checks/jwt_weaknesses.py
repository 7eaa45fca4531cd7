"""Weak JWTs: unsigned, symmetric beside asymmetric, without expiry, long-lived, or accepted expired."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from apisight.posture.findings import BaseCheck, CheckOptions, Finding, findings_from_frame
from apisight.store import Catalog
from apisight.store import evidence_auth as queries


class JwtWeaknessesOptions(CheckOptions):
    max_lifetime_s: int = Field(default=24 * 3600, ge=1,
                                description="a token whose exp lies further than this after the request is long-lived")
    expiry_leeway_s: int = Field(default=300, ge=0, le=24 * 3600,
                                 description="clock skew tolerated before an accepted expired token counts")


class JwtWeaknessesCheck(BaseCheck[JwtWeaknessesOptions]):
    """Bearer JWTs the endpoint received, judged from their decoded header and claims (never
    verified, never stored): ``alg: none`` (critical); HS* from an issuer that also signs with
    RS/ES/PS/EdDSA, the algorithm-confusion setup (high); a 2xx answer to a token whose ``exp``
    had passed more than ``expiry_leeway_s`` before the request (high); no ``exp`` (medium);
    ``exp`` more than ``max_lifetime_s`` after the request (low); HS* alone (info).
    Evidence counts events per weakness (``weaknesses``) and names the issuers."""

    name = "jwt_weaknesses"
    owasp = "API2:2023 Broken Authentication"
    severity = "medium"
    remediation = (
        "Pin the accepted algorithms in the verifier (e.g. PyJWT jwt.decode(token, key, algorithms=['RS256']), "
        "jsonwebtoken verify(..., {algorithms: ['RS256']})) and reject 'none'; sign with one asymmetric key per "
        "issuer rather than a shared HMAC secret; require and check exp (a clock leeway of a minute at most) and "
        "issue access tokens that live minutes, not days, with refresh tokens for longer sessions."
    )
    settings_model = JwtWeaknessesOptions

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        frame = queries.jwt_weaknesses(catalog.db, since, self.options.max_lifetime_s, self.options.expiry_leeway_s)
        return findings_from_frame(self, frame)

"""Authentication endpoints that let one client hammer them without ever answering 429."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, field_validator

from apisight.posture.findings import BaseCheck, CheckOptions, Finding, NonEmpty, Regex, findings_from_frame
from apisight.store import Catalog
from apisight.store import evidence_inventory as queries

#: Templates of login, token, one-time-code and password endpoints.
AUTH_TEMPLATE = (
    r"(?i)(log-?in|sign-?in|token|oauth|otp|mfa|2fa|password|passwd|verify|verification)"
)


class NoRateLimitingOptions(CheckOptions):
    template_pattern: Regex = Field(default=AUTH_TEMPLATE, description="templates of authentication endpoints")
    methods: Annotated[tuple[str, ...], NonEmpty] = Field(default=("POST",),
                                                          description="methods that exchange credentials")
    max_requests: int = Field(default=30, ge=2, description="requests from one client within per_seconds")
    per_seconds: int = Field(default=60, ge=1, le=24 * 3600)

    @field_validator("methods")
    @classmethod
    def _upper(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.upper() for v in value)


class NoRateLimitingCheck(BaseCheck[NoRateLimitingOptions]):
    """An authentication-like endpoint (template matches ``template_pattern``, by default
    :data:`AUTH_TEMPLATE`; method in ``methods``) took ``max_requests`` or more requests
    from one client IP or API key within ``per_seconds`` and answered no request with 429 in
    the window. Internal clients are left out. High when the bursts drew ``max_requests`` or
    more 401/403 answers: guessing went on unthrottled. One 429 anywhere on the endpoint in
    the window clears it."""

    name = "no_rate_limiting"
    owasp = "API4:2023 Unrestricted Resource Consumption"
    severity = "medium"
    remediation = (
        "Rate-limit this endpoint per client address and per account, e.g. nginx "
        "`limit_req_zone $binary_remote_addr zone=auth:10m rate=10r/m;` and in its location "
        "`limit_req zone=auth burst=5 nodelay; limit_req_status 429;` (or the gateway's rate-limiting plugin), "
        "answer 429 with Retry-After, and add per-account lockout or step-up (CAPTCHA) after repeated failures."
    )
    settings_model = NoRateLimitingOptions

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        o = self.options
        frame = queries.unthrottled_bursts(catalog.db, since, o.template_pattern, list(o.methods), o.max_requests,
                                           o.per_seconds)
        return findings_from_frame(self, frame)

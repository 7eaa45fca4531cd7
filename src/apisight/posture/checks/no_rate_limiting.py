"""Authentication endpoints that let one client hammer them without ever answering 429."""

from __future__ import annotations

from datetime import datetime

from apisight.posture.findings import Finding, findings_from_frame
from apisight.store import Catalog
from apisight.store import findings as queries

#: Templates of login, token, one-time-code and password endpoints.
AUTH_TEMPLATE = (
    r"(?i)(log-?in|sign-?in|token|oauth|otp|mfa|2fa|password|passwd|verify|verification)"
)


class NoRateLimitingCheck:
    """An authentication-like endpoint (template matches :data:`AUTH_TEMPLATE`, method in
    ``methods``) took ``max_requests`` or more requests from one client IP or API key within
    ``per_seconds`` and answered no request with 429 in the window. Internal clients are left
    out. High when the bursts drew ``max_requests`` or more 401/403 answers: guessing went on
    unthrottled. One 429 anywhere on the endpoint in the window clears it."""

    name = "no_rate_limiting"
    owasp = "API4:2023 Unrestricted Resource Consumption"
    severity = "medium"
    remediation = (
        "Rate-limit this endpoint per client address and per account, e.g. nginx "
        "`limit_req_zone $binary_remote_addr zone=auth:10m rate=10r/m;` and in its location "
        "`limit_req zone=auth burst=5 nodelay; limit_req_status 429;` (or the gateway's rate-limiting plugin), "
        "answer 429 with Retry-After, and add per-account lockout or step-up (CAPTCHA) after repeated failures."
    )
    template_pattern = AUTH_TEMPLATE
    methods: tuple[str, ...] = ("POST",)
    max_requests = 30
    per_seconds = 60

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        frame = queries.unthrottled_bursts(catalog.db, since, self.template_pattern, list(self.methods),
                                           self.max_requests, self.per_seconds)
        return findings_from_frame(self, frame)

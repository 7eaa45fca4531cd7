"""Response headers that name the server or framework, and its version."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, field_validator

from apisight.posture.findings import BaseCheck, CheckOptions, Finding, NonEmpty, Regex, findings_from_frame
from apisight.store import Catalog
from apisight.store import evidence_exposure as queries


class ServerBannersOptions(CheckOptions):
    headers: Annotated[tuple[str, ...], NonEmpty] = Field(
        default=("server", "x-powered-by", "x-aspnet-version", "x-aspnetmvc-version", "x-runtime", "x-generator",
                 "x-drupal-cache", "x-varnish-version"),
        description="response headers that disclose the server or framework")
    bare_product_headers: tuple[str, ...] = Field(
        default=("server",), description="headers that count only with a version number (`Server: nginx` is clean)")
    timing_headers: tuple[str, ...] = Field(
        default=("x-runtime",), description="headers whose number is a duration, not a version (Rails' X-Runtime)")
    version_pattern: Regex = Field(
        default=r"(?:^|[/ (v])[0-9]+(?:\.[0-9]+)+", description="a version number in a header value (RE2)")
    max_value_chars: int = Field(default=40, ge=8, description="header values in the evidence are cut to this length")

    @field_validator("headers", "bare_product_headers", "timing_headers")
    @classmethod
    def _lower_case(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(h.strip().lower() for h in value)


class ServerBannersCheck(BaseCheck[ServerBannersOptions]):
    """Recorded response headers name the server or framework (``X-Powered-By: Express``,
    ``X-AspNet-Version``, ``X-Runtime``: low) or its version (``Server: nginx/1.18.0``,
    ``X-Powered-By: PHP/7.4.3``: medium), which tells an attacker which known vulnerabilities to
    try. A bare product name in ``Server`` is clean. Only headers the source recorded are seen:
    HAR and Kong keep every response header, an access log only those in its format, so a
    source without response headers never fires."""

    name = "server_banners"
    owasp = "API8:2023 Security Misconfiguration"
    severity = "low"
    remediation = (
        "Stop advertising the stack: nginx `server_tokens off;`, Apache `ServerTokens Prod` and "
        "`ServerSignature Off`, PHP `expose_php = Off`, Express `app.disable('x-powered-by')`, ASP.NET "
        "`<httpRuntime enableVersionHeader=\"false\"/>` and `MvcHandler.DisableMvcResponseHeader = true`, or "
        "strip the headers at the gateway (`proxy_hide_header`, Kong response-transformer)."
    )
    settings_model = ServerBannersOptions

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        o = self.options
        frame = queries.server_banners(catalog.db, since, list(o.headers), o.version_pattern,
                                       list(o.bare_product_headers), list(o.timing_headers), o.max_value_chars)
        return findings_from_frame(self, frame)

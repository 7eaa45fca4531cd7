"""Response headers that let sensitive data be cached or read cross-origin."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from apisight.posture.findings import BaseCheck, CheckOptions, Finding, SensitiveTypes, findings_from_frame
from apisight.store import Catalog
from apisight.store import evidence_exposure as queries


class MissingSecurityHeadersOptions(CheckOptions):
    complete_header_sources: tuple[str, ...] = Field(
        default=("har", "harl", "kong"), description="formats (readers) that store every response header sent")
    min_reflected_origins: int = Field(default=3, ge=1,
                                       description="distinct echoed origins that tell reflection from an allowlist")
    ignored_types: SensitiveTypes = Field(default=("ip_address",),
                                          description="sensitive types that do not need Cache-Control: no-store")

    @field_validator("complete_header_sources")
    @classmethod
    def _installed_formats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from apisight.readers import registry  # only when the list is configured

        unknown = sorted(set(value) - set(registry.names()))
        if unknown:
            raise ValueError(f"unknown format(s) {', '.join(unknown)} (installed: {', '.join(registry.names())})")
        return value


class MissingSecurityHeadersCheck(BaseCheck[MissingSecurityHeadersOptions]):
    """From the response headers the source recorded: responses with clear sensitive data and no
    ``Cache-Control: no-store`` (medium); ``Access-Control-Allow-Origin: *`` with
    ``Access-Control-Allow-Credentials: true`` (medium); the request's ``Origin`` echoed back,
    ``min_reflected_origins`` distinct ones or ``null`` (low; high with credentials allowed).

    A missing header is judged only where the source records it: the event's response headers
    have the key (a log format field is written even when empty), or the source keeps every
    response header (``complete_header_sources``). Sensitive responses from other sources are
    counted in ``unrecorded_sensitive_events`` and not judged; sources that record no response
    headers (most access logs) never fire."""

    name = "missing_security_headers"
    owasp = "API8:2023 Security Misconfiguration"
    severity = "medium"
    remediation = (
        "Send `Cache-Control: no-store` on every response that carries personal or secret data (and on token "
        "responses, RFC 6749 §5.1), e.g. nginx `add_header Cache-Control \"no-store\" always;` on those locations. "
        "For CORS, answer only origins from an explicit allowlist, never echo the request's Origin or allow "
        "`null`, and never combine `*` with Access-Control-Allow-Credentials; send `Vary: Origin`."
    )
    settings_model = MissingSecurityHeadersOptions

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        o = self.options
        frame = queries.security_headers(catalog.db, since, list(o.complete_header_sources), o.min_reflected_origins,
                                         list(o.ignored_types))
        return findings_from_frame(self, frame)

"""Settings: one YAML file, validated, every key with a default.

Where the file comes from: ``--config FILE``, else ``apisight.yaml`` in the data
directory, else defaults. Errors name the key, the bad value and what is accepted.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from apisight.errors import ConfigError

CONFIG_NAME = "apisight.yaml"

PRIVATE_NETWORKS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "fc00::/7", "::1/128"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _networks(value: list[str]) -> list[str]:
    for cidr in value:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError as e:
            raise ValueError(f"{cidr!r} is not an IP network (use CIDR like 10.0.0.0/8)") from e
    return value


class NetworkSettings(_Section):
    """Where clients really are."""

    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Proxy/load-balancer/CDN ranges whose X-Forwarded-For / Forwarded is believed.",
    )
    internal_networks: list[str] = Field(
        default_factory=lambda: list(PRIVATE_NETWORKS),
        description="Your own networks: traffic from them is east-west, the rest north-south.",
    )
    forwarded_header: Literal["x-forwarded-for", "forwarded"] = Field(
        default="x-forwarded-for",
        description="The one header your proxies append the client to; the other is never believed.",
    )

    _check = field_validator("trusted_proxies", "internal_networks")(_networks)


class AuthSettings(_Section):
    """Where credentials are found, and which headers and parameters hold secrets."""

    api_key_headers: list[str] = Field(
        default_factory=lambda: ["x-api-key", "api-key", "apikey", "x-apikey", "x-api-token", "ocp-apim-subscription-key"]
    )
    api_key_query_params: list[str] = Field(default_factory=lambda: ["api_key", "apikey", "api-key", "key"])
    secret_query_params: list[str] = Field(
        default_factory=lambda: [
            "access_token", "token", "id_token", "refresh_token", "code", "password", "passwd", "secret",
            "client_secret", "signature", "sig", "x-amz-security-token", "x-amz-signature",
        ]
    )
    secret_headers: list[str] = Field(
        default_factory=lambda: [
            "proxy-authorization", "x-auth-token", "x-access-token", "private-token", "x-csrf-token",
            "x-xsrf-token", "x-amz-security-token", "x-goog-iap-jwt-assertion",
        ],
        description=(
            "headers never stored, besides authorization, cookie, set-cookie, api_key_headers"
            " and any whose name says secret (…-token, …-secret, …-password, session-id)"
        ),
    )

    @field_validator("api_key_headers", "api_key_query_params", "secret_query_params", "secret_headers")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.lower() for v in value]

    def dropped_headers(self) -> list[str]:
        """Every header name that is never stored: the fixed three, then the configured ones."""
        return ["authorization", "cookie", "set-cookie", *self.secret_headers, *self.api_key_headers]

    def secret_params(self) -> list[str]:
        """Every query (and fragment) parameter whose value is masked before storage."""
        return [*self.api_key_query_params, *self.secret_query_params]


class Partner(_Section):
    """A B2B client, recognised by any of its keys, client ids, principals or networks."""

    name: str
    api_key_ids: list[str] = Field(default_factory=list, description="key ids as shown by apisight (key_...)")
    client_ids: list[str] = Field(default_factory=list, description="OAuth client_id claims")
    principals: list[str] = Field(default_factory=list)
    networks: list[str] = Field(default_factory=list)

    _check = field_validator("networks")(_networks)


class CaptureSettings(_Section):
    """What is kept of each request."""

    body_policy: Literal["redact", "drop", "keep"] = "redact"
    max_body_bytes: int = Field(default=64 * 1024, ge=0)
    max_line_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    quarantine_lines: int = Field(default=1000, ge=0, description="malformed records saved per run")
    max_decompressed_bytes: int = Field(default=1 << 40, ge=1024 * 1024,
                                        description="bytes one compressed input may expand to")
    max_expansion: float = Field(default=200.0, ge=2.0,
                                 description="times one compressed input may expand (past 64 MiB out)")


class RetentionSettings(_Section):
    days: int = Field(default=30, ge=1, description="days of events kept, back from the newest event")


class FingerprintSettings(_Section):
    key_file: str | None = Field(default=None, description="default: <data dir>/fingerprint.key")


class Owner(_Section):
    """Who owns the endpoints matching ``paths`` (shell-style globs) on ``hosts`` (all if empty)."""

    owner: str
    paths: list[str] = Field(default_factory=lambda: ["*"])
    hosts: list[str] = Field(default_factory=list)


class DiscoverySettings(_Section):
    """API discovery."""

    specs: list[str] = Field(default_factory=list, description="OpenAPI/Swagger files your teams maintain")
    quiet_after_days: int = Field(default=7, ge=1, description="an endpoint unseen this long has gone quiet")
    max_templates_per_host: int = Field(default=20_000, ge=100, description=(
        "path templates a host may have; paths past it that no template covers are counted under "
        "/{unmapped_path} (memory bounded by this, not by a scanner's random paths)"))
    owners: list[Owner] = Field(default_factory=list, description="first match wins; a spec's x-owner wins over all")


class DlpRule(_Section):
    """Alert when one client receives more than ``distinct_values`` of ``types`` within a window."""

    name: str
    types: list[str]
    distinct_values: int = Field(ge=1)
    window_minutes: int = Field(default=10, ge=1, le=24 * 60)
    direction: Literal["response", "request", "query", "path", "any"] = "response"
    severity: Literal["low", "medium", "high", "critical"] = "high"


def _default_dlp_rules() -> list[DlpRule]:
    return [
        DlpRule(name="bulk-card-numbers", types=["card_number"], distinct_values=50, severity="critical"),
        DlpRule(name="bulk-national-ids", types=["us_ssn", "uk_nino", "ca_sin", "es_dni"], distinct_values=50,
                severity="critical"),
        DlpRule(name="bulk-bank-accounts", types=["iban", "bank_account", "aba_routing"], distinct_values=100),
        DlpRule(name="bulk-contact-details", types=["email", "phone"], distinct_values=500, window_minutes=60,
                severity="medium"),
    ]


class SensitiveSettings(_Section):
    """Sensitive-data discovery and DLP thresholds."""

    enabled: bool = Field(default=True, description="scan bodies, query strings and paths for sensitive data")
    dlp: list[DlpRule] = Field(default_factory=_default_dlp_rules)


class PostureSettings(_Section):
    """Posture checks run after every analysis."""

    enabled: bool = Field(default=True, description="run the posture checks after every analysis")
    window_days: int = Field(default=7, ge=1, description="evidence window, back from the newest event")
    checks: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="per-check settings by name: enabled, severity and the check's thresholds",
    )

    @field_validator("checks")
    @classmethod
    def _installed_checks(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Each check's settings, validated by its own model when the file is read (not after
        the events are stored); errors read ``posture.checks.<name>: <field>: <message>``."""
        if not value:
            return value
        # imported here: the check registry loads the checks, which import this module
        from apisight.posture.checks import settings_problems

        return _plugin_settings("posture.checks", value, settings_problems(value))


def _plugin_settings(where: str, value: dict[str, dict[str, Any]],
                     problems: list[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """``value`` unless a plugin's own model found ``problems`` ((name or "", problem) pairs):
    then one validation error per problem, located at ``<where>.<name>``."""
    if not problems:
        return value
    from pydantic_core import InitErrorDetails, PydanticCustomError

    raise ValidationError.from_exception_data(where, [
        InitErrorDetails(type=PydanticCustomError("plugin_settings", "{problem}", {"problem": what}),
                         loc=(name,) if name else (), input=value.get(name, value))
        for name, what in problems
    ])


class RoleRule(_Section):
    """Give the endpoints matching ``path`` (a template or shell-style glob) a role."""

    path: str
    role: Literal[
        "login", "token", "password_reset", "mfa", "profile_change", "payee_add", "payment", "export", "admin",
        "object_read", "collection", "other",
    ]
    method: str | None = Field(default=None, description="all methods when unset")
    host: str | None = Field(default=None, description="all hosts when unset")


class DetectSettings(_Section):
    """Behavioural detection over the events of every analysis."""

    enabled: bool = Field(default=True, description="run the detectors after every analysis")
    lateness_minutes: int = Field(default=60, ge=0, le=24 * 60,
                                  description="how late a record may arrive and still join its window")
    learning_hours: int = Field(default=24, ge=0, description="history an entity needs before volume baselines apply")
    entity_idle_days: int = Field(default=30, ge=1, description="state of an entity unseen this long is dropped")
    roles: list[RoleRule] = Field(default_factory=list, description="role overrides; first match wins")
    detectors: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-detector settings by name (apisight detectors lists them)"
    )

    @field_validator("detectors")
    @classmethod
    def _installed_detectors(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Each detector's settings, validated by its own model when the file is read (not after
        the events are stored); errors read ``detect.detectors.<name>: <field>: <message>``."""
        if not value:
            return value
        from apisight.detect.registry import settings_problems  # the registry loads the detectors

        return _plugin_settings("detect.detectors", value, settings_problems(value))


class Settings(_Section):
    """All of apisight's settings."""

    network: NetworkSettings = Field(default_factory=NetworkSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    partners: list[Partner] = Field(default_factory=list)
    capture: CaptureSettings = Field(default_factory=CaptureSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    fingerprint: FingerprintSettings = Field(default_factory=FingerprintSettings)
    discovery: DiscoverySettings = Field(default_factory=DiscoverySettings)
    sensitive: SensitiveSettings = Field(default_factory=SensitiveSettings)
    posture: PostureSettings = Field(default_factory=PostureSettings)
    detect: DetectSettings = Field(default_factory=DetectSettings)


def load_settings(path: Path | None, data_dir: Path | None = None) -> Settings:
    """Settings from ``path``, else from ``<data_dir>/apisight.yaml`` if present, else defaults."""
    if path is None and data_dir is not None and (data_dir / CONFIG_NAME).is_file():
        path = data_dir / CONFIG_NAME
    if path is None:
        return Settings()
    if not path.is_file():
        raise ConfigError(f"config file {path} not found (create one with `apisight init`)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    try:
        return Settings.model_validate(raw)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {_explain(err)}" for err in e.errors()
        )
        raise ConfigError(f"{path}: {problems}") from e


def _explain(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown setting (see `apisight init` for every setting)"
    return str(err["msg"]).removeprefix("Value error, ")


STARTER_CONFIG = """\
# apisight configuration. Every setting is optional; these are the defaults.

network:
  # Ranges of your proxies, load balancers and CDN. Only when the connecting address is
  # in one of them is X-Forwarded-For / Forwarded believed for the real client address.
  trusted_proxies: []            # e.g. [10.0.0.0/8, 173.245.48.0/20]
  # Your own networks: callers from here are east-west (internal), others north-south.
  internal_networks: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 127.0.0.0/8, "fc00::/7", "::1/128"]
  # The header your proxies append the client address to: x-forwarded-for or forwarded
  # (RFC 7239). Only that one is read; a client-supplied copy of the other is ignored.
  forwarded_header: x-forwarded-for

auth:
  # Request headers and query parameters that carry API keys (fingerprinted, never stored).
  api_key_headers: [x-api-key, api-key, apikey, x-apikey, x-api-token, ocp-apim-subscription-key]
  api_key_query_params: [api_key, apikey, api-key, key]
  # Query and fragment parameters whose values are secrets: replaced by [redacted] before
  # storage, in the query, the referer and URLs in headers (Location). `code` is the OAuth
  # authorization code. Names that say secret (password, token, ...) are masked anyway.
  secret_query_params: [access_token, token, id_token, refresh_token, code, password, passwd, secret,
                        client_secret, signature, sig, x-amz-security-token, x-amz-signature]
  # Headers never stored, besides authorization, cookie, set-cookie, api_key_headers and
  # any whose name says secret (x-session-token, x-client-secret, ...).
  secret_headers: [proxy-authorization, x-auth-token, x-access-token, private-token, x-csrf-token,
                   x-xsrf-token, x-amz-security-token, x-goog-iap-jwt-assertion]

# B2B clients, recognised by key id (as apisight shows it), OAuth client_id, user or network.
partners: []
#  - name: acme-payments
#    api_key_ids: [key_3f9a12c4d5e6]
#    client_ids: [acme-prod]
#    networks: [198.51.100.0/24]

capture:
  body_policy: redact            # redact (default): secrets and card/ID-like values masked; drop; keep
  max_body_bytes: 65536          # bodies are cut to this size before storage
  max_line_bytes: 4194304        # longer input lines are reported as malformed and skipped
  quarantine_lines: 1000         # malformed records saved (secrets scrubbed) per run

retention:
  days: 30                       # counted back from the newest stored event, not the wall clock

discovery:
  specs: []                      # OpenAPI 3.x / Swagger 2.0 files; also --spec on the command line
  quiet_after_days: 7            # an endpoint not seen for this long is recorded as gone quiet
  owners: []                     # who owns what, when the spec has no x-owner; first match wins
#    - owner: payments-team
#      paths: ["/v*/payments*", "/v*/payees*"]
#      hosts: [api.example.com]

sensitive:
  enabled: true                  # find cards, IBANs, SSNs, e-mails, phones, secrets... (masked, fingerprinted)
  # DLP: alert when one client (partner, user, API key or IP) receives more distinct values
  # of these types than the threshold within the window (event time). Replaces the defaults:
  dlp:
    - {name: bulk-card-numbers, types: [card_number], distinct_values: 50, window_minutes: 10, severity: critical}
    - {name: bulk-national-ids, types: [us_ssn, uk_nino, ca_sin, es_dni], distinct_values: 50, window_minutes: 10,
       severity: critical}
    - {name: bulk-bank-accounts, types: [iban, bank_account, aba_routing], distinct_values: 100, window_minutes: 10}
    - {name: bulk-contact-details, types: [email, phone], distinct_values: 500, window_minutes: 60,
       severity: medium}

posture:
  enabled: true                  # run the posture checks (apisight findings) after every analysis
  window_days: 7                 # a finding resolves when this much recent traffic no longer shows it
  # Per-check settings by name: enabled, severity (given to every finding of the check) and
  # the check's thresholds, all listed in the README (Configuration). A disabled check neither
  # raises nor resolves findings. The main thresholds at their defaults, then two overrides:
  checks: {}
#    no_rate_limiting: {max_requests: 30, per_seconds: 60, methods: [POST]}
#    jwt_weaknesses: {max_lifetime_s: 86400, expiry_leeway_s: 300}
#    token_shared_by_many_clients: {min_client_ips: 10, public_client_ips: 100, schemes: [bearer]}
#    bola_prone_ids: {min_ids: 10, max_median_gap: 1000, min_numeric_share: 0.9}
#    missing_security_headers: {min_reflected_origins: 3, complete_header_sources: [har, harl, kong]}
#    sensitive_data_without_auth: {ignored_types: [ip_address, jwt, bearer_token]}
#    shadow_endpoint: {enabled: false}
#    plaintext_http: {severity: high}

detect:
  enabled: true                  # run the detectors (apisight alerts) after every analysis
  lateness_minutes: 60           # later records are counted and left to `apisight detect --replay`
  learning_hours: 24             # history a client needs before its own volume baseline counts
  entity_idle_days: 30           # state of an entity unseen this long is dropped
  roles: []                      # what endpoints are for, when the inferred role is wrong; first match wins
#    - {path: "/v1/session/create", method: POST, role: login}
#    - {path: "/ops/*", role: admin}
  detectors: {}                  # per-detector settings; `apisight detectors` lists them with defaults
#    credential_stuffing: {min_attempts: 50, window_minutes: 10}
#    abnormal_volume: {enabled: false}

fingerprint:
  key_file: null                 # default <data dir>/fingerprint.key (created 0600); or APISIGHT_FINGERPRINT_KEY
"""

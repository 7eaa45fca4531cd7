"""What each endpoint is for, as the detectors reason about it.

Inferred from the method and the template (the words of its path and whether it
ends in an id parameter); configured rules (``detect.roles``) come first. Roles are
stored per endpoint in ``endpoint_roles`` and shown in the inventory.
"""

from __future__ import annotations

import fnmatch
import re

import polars as pl

from apisight.config import RoleRule

ROLES = ("login", "token", "password_reset", "mfa", "profile_change", "payee_add", "payment", "export", "admin",
         "object_read", "collection", "other")

_WRITE = {"POST", "PUT", "PATCH"}
_SELF = {"me", "self", "current", "profile", "whoami", "userinfo"}

#: (role, methods or None for any, pattern on the lower-cased template), first match wins.
_RULES: tuple[tuple[str, set[str] | None, re.Pattern[str]], ...] = tuple(
    (role, methods, re.compile(pattern))
    for role, methods, pattern in (
        ("admin", None, (r"(^|/)(admin|internal|debug|_debug|actuator|management|manage|console|jmx|heapdump|"
                        r"metrics|prometheus|env|trace|jolokia|phpinfo|server-status|graphiql|__debug__)(/|$)")),
        ("token", {"POST"}, r"(^|/)(oauth2?/)?(token|tokens|access[-_]?token|refresh)(/|$)"),
        ("password_reset", _WRITE, (r"(password|passwd)[-_/]?(reset|forg[eo]t|recover)|(reset|forg[eo]t|recover)"
                                   r"[-_/]?(password|passwd)")),
        ("mfa", _WRITE, r"(^|/)([a-z-]*otp|mfa|2fa|totp|one-time-code|challenge)(/|$)"),
        ("login", {"POST"}, (r"(^|/)(log-?in[-_a-z]*|sign-?in|sign-?on|authenticate)(/|$)"
                             r"|(^|/)(auth|sessions?)/?$")),
        ("payee_add", {"POST", "PUT"}, r"(^|/)(payees?|beneficiar(y|ies)|recipients?|counterpart(y|ies))/?$"),
        ("payment", {"POST", "PUT"}, r"(^|/)([a-z-]*payments?|transfers?|payouts?|remittances?|withdrawals?)/?$"),
        ("profile_change", _WRITE, (r"(^|/)(me|profile|customers/\{[^}]+\}|users/\{[^}]+\}|contact|email|phone|"
                                   r"address|password|passwd|settings)/?$"
                                   r"|(change|update)[-_]?(email|phone|password|address|profile)")),
        ("export", {"GET", "POST"}, r"(^|/)(export|exports|download|downloads|statements?/export|bulk)(/|$)"),
    )
)


def infer_role(method: str, template: str) -> str:
    """The role of one endpoint from its method and template."""
    method = (method or "").upper()
    lower = (template or "").lower()
    for role, methods, pattern in _RULES:
        if (methods is None or method in methods) and pattern.search(lower):
            return role
    if method == "GET" or method == "HEAD":
        last = lower.rstrip("/").rsplit("/", 1)[-1]
        if last in _SELF:
            return "other"  # the caller's own resource: neither a list nor someone's object by id
        return "object_read" if "{" in last else "collection"
    if "{" in lower and method in {"PUT", "PATCH", "DELETE"}:
        return "object_read"
    return "other"


def _configured(rules: list[RoleRule], host: str, method: str, template: str) -> str | None:
    for rule in rules:
        if rule.host and rule.host != host:
            continue
        if rule.method and rule.method.upper() != method:
            continue
        if rule.path == template or fnmatch.fnmatchcase(template, rule.path):
            return rule.role
    return None


def endpoint_roles(endpoints: pl.DataFrame, rules: list[RoleRule]) -> pl.DataFrame:
    """``host, method, path, role, origin`` (configured | inferred) for each endpoint."""
    rows = []
    for host, method, path in endpoints.select("host", "method", "path").unique().iter_rows():
        configured = _configured(rules, host or "", method or "", path or "")
        rows.append({"host": host, "method": method, "path": path,
                     "role": configured or infer_role(method, path),
                     "origin": "configured" if configured else "inferred"})
    schema = {"host": pl.String, "method": pl.String, "path": pl.String, "role": pl.String, "origin": pl.String}
    return pl.DataFrame(rows, schema=schema)


def id_position(template: str) -> int | None:
    """Index (in ``path.split('/')``) of the template's last parameter segment, if any."""
    parts = (template or "").split("/")
    for i in range(len(parts) - 1, -1, -1):
        if parts[i].startswith("{") and parts[i].endswith("}"):
            return i
    return None

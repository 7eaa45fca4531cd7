"""The one registry of posture checks: built-ins and plugins alike load from entry points.

A third party adds a check by exposing a class under the ``apisight.checks`` entry-point
group; apisight's own checks (one module each in this package) are registered the same
way in ``pyproject.toml``.
"""

from __future__ import annotations

from functools import cache

from apisight.errors import ConfigError
from apisight.plugins import load_group
from apisight.posture.findings import Check

GROUP = "apisight.checks"


@cache
def check_classes() -> dict[str, type]:
    """Every installed check class by name."""
    return load_group(GROUP, "check")


def names() -> list[str]:
    return sorted(check_classes())


def create(name: str) -> Check:
    """The check called ``name``; an unknown name lists the installed ones."""
    classes = check_classes()
    if name not in classes:
        raise ConfigError(f"unknown check {name!r}; installed checks: {', '.join(names())}")
    check: Check = classes[name]()
    return check


def create_all(enabled: list[str] | None = None) -> list[Check]:
    """The checks named in ``enabled`` (default: every installed one), in name order."""
    return [create(n) for n in (enabled if enabled is not None else names())]

"""The one registry of posture checks: built-ins and plugins alike load from entry points.

A third party adds a check by exposing a class under the ``apisight.checks`` entry-point
group; apisight's own checks (one module each in this package) are registered the same
way in ``pyproject.toml``.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib.metadata import entry_points

from apisight.errors import ConfigError
from apisight.posture.findings import Check

log = logging.getLogger(__name__)

GROUP = "apisight.checks"


@cache
def check_classes() -> dict[str, type]:
    """Every installed check class by name; a plugin that fails to import is logged and skipped."""
    found: dict[str, type] = {}
    for ep in entry_points(group=GROUP):
        try:
            cls = ep.load()
        except Exception as e:  # noqa: BLE001 - a broken third-party plugin must not stop the built-ins
            log.warning("check plugin %s could not be loaded: %s", ep.value, e)
            continue
        found[getattr(cls, "name", ep.name)] = cls
    if not found:
        raise ConfigError("no posture checks are installed: reinstall apisight with `pip install -e .`")
    return found


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

"""Loading extensions from entry-point groups, the one way built-ins and plugins register.

Each extension kind (readers, checks, ...) keeps its own registry module; this is the
loading they share: by ``name``, and a plugin that fails to import is logged and skipped
so a broken third-party package never stops the built-ins.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from apisight.errors import ConfigError

log = logging.getLogger(__name__)


def load_group(group: str, kind: str) -> dict[str, type]:
    """Every class registered under ``group`` by its ``name`` (the entry-point name if it has none)."""
    found: dict[str, type] = {}
    for ep in entry_points(group=group):
        try:
            cls = ep.load()
        except Exception as e:  # noqa: BLE001 - a broken third-party plugin must not stop the built-ins
            log.warning("%s plugin %s could not be loaded: %s", kind, ep.value, e)
            continue
        found[getattr(cls, "name", ep.name)] = cls
    if not found:
        raise ConfigError(f"no {kind}s are installed: reinstall apisight with `pip install -e .`")
    return found

"""The detectors installed (entry-point group ``apisight.detectors``) and their settings."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from apisight.config import DetectSettings
from apisight.detect.detector import Detector
from apisight.errors import ConfigError
from apisight.plugins import load_group

GROUP = "apisight.detectors"


def available() -> dict[str, type[Detector]]:
    return load_group(GROUP, "detector")  # type: ignore[return-value]


def settings_problems(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """What is wrong with ``detect.detectors``, as (detector name or ``""``, problem) pairs."""
    known = available()
    unknown = sorted(set(raw) - set(known))
    if unknown:
        return [("", f"unknown detector(s) {', '.join(unknown)} (installed: {', '.join(sorted(known))})")]
    problems: list[tuple[str, str]] = []
    for name, options in raw.items():
        try:
            known[name].settings_model.model_validate(options or {})
        except ValidationError as e:
            problems.extend((name, f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}") for err in e.errors())
    return problems


def enabled_detectors(settings: DetectSettings) -> list[Detector]:
    """Each enabled detector with its options from ``detect.detectors.<name>``."""
    known = available()
    unknown = sorted(set(settings.detectors) - set(known))
    if unknown:
        raise ConfigError(f"detect.detectors: unknown detector(s) {', '.join(unknown)} "
                          f"(installed: {', '.join(sorted(known))})")
    out = []
    for name, cls in sorted(known.items()):
        try:
            options = cls.settings_model.model_validate(settings.detectors.get(name) or {})
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())
            raise ConfigError(f"detect.detectors.{name}: {problems}") from e
        if options.enabled:
            out.append(cls(options))
    return out

"""The detectors installed (entry-point group ``apisight.detectors``) and their settings."""

from __future__ import annotations

from pydantic import ValidationError

from apisight.config import DetectSettings
from apisight.detect.detector import Detector
from apisight.errors import ConfigError
from apisight.plugins import load_group

GROUP = "apisight.detectors"


def available() -> dict[str, type[Detector]]:
    return load_group(GROUP, "detector")  # type: ignore[return-value]


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

"""The one registry of posture checks: built-ins and plugins alike load from entry points.

A third party adds a check by exposing a class under the ``apisight.checks`` entry-point
group; apisight's own checks (one module each in this package) are registered the same
way in ``pyproject.toml``. A check's settings (``posture.checks.<name>``) are validated
by its ``settings_model``; a check class without one gets the common ones
(:class:`~apisight.posture.findings.CheckOptions`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from apisight.errors import ConfigError
from apisight.plugins import load_group
from apisight.posture.findings import Check, CheckOptions

if TYPE_CHECKING:
    from apisight.config import PostureSettings

GROUP = "apisight.checks"


@cache
def check_classes() -> dict[str, type]:
    """Every installed check class by name."""
    return load_group(GROUP, "check")


def names() -> list[str]:
    return sorted(check_classes())


def settings_model(cls: type) -> type[CheckOptions]:
    """The settings model of a check class (the common options if it declares none)."""
    model: type[CheckOptions] = getattr(cls, "settings_model", CheckOptions)
    return model


def settings_problems(raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What is wrong with ``posture.checks``, as (check name or ``""``, problem) pairs.

    An unknown check name is one problem listing the installed checks; a bad value is one
    problem per field, ``"<field>: <message>"``.
    """
    classes = check_classes()
    unknown = sorted(set(raw) - set(classes))
    if unknown:
        return [("", f"unknown check(s) {', '.join(unknown)} (installed: {', '.join(names())})")]
    problems: list[tuple[str, str]] = []
    for name, options in raw.items():
        try:
            settings_model(classes[name]).model_validate(options or {})
        except ValidationError as e:
            problems.extend((name, _problem(err)) for err in e.errors())
    return problems


def check_options(raw: Mapping[str, Any] | None = None) -> dict[str, CheckOptions]:
    """Every installed check's validated options, from ``posture.checks`` (``raw``).

    Raises :class:`ConfigError` naming the check and field, e.g.
    ``posture.checks.no_rate_limiting: max_requests: Input should be greater than or equal to 2``.
    """
    raw = raw or {}
    problems = settings_problems(raw)
    if problems:
        raise ConfigError("; ".join(f"posture.checks{'.' + name if name else ''}: {what}" for name, what in problems))
    return {name: settings_model(cls).model_validate(raw.get(name) or {})
            for name, cls in sorted(check_classes().items())}


def create(name: str, options: Mapping[str, Any] | CheckOptions | None = None) -> Check:
    """The check called ``name`` with ``options`` (its defaults when None); an unknown name
    lists the installed ones."""
    classes = check_classes()
    if name not in classes:
        raise ConfigError(f"unknown check {name!r}; installed checks: {', '.join(names())}")
    if not isinstance(options, CheckOptions):
        options = check_options({name: options or {}})[name]
    check: Check = classes[name](options)
    return check


def create_all(settings: PostureSettings | None = None) -> list[Check]:
    """Every installed check, in name order, with its options from ``settings.checks``
    (disabled ones included: :func:`~apisight.posture.findings.run_checks` skips them)."""
    options = check_options(settings.checks if settings is not None else None)
    return [create(name, opts) for name, opts in options.items()]


def _problem(err: Any) -> str:
    where = ".".join(str(p) for p in err["loc"])
    what = ("unknown setting (see posture.checks in `apisight init`)" if err["type"] == "extra_forbidden"
            else str(err["msg"]).removeprefix("Value error, "))
    return f"{where}: {what}" if where else what

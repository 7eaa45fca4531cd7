"""Posture findings: the :class:`Finding` model and the run over every registered check.

A check (one module under ``posture/checks``, registered in the ``apisight.checks``
entry-point group) has a stable ``name``, an OWASP API Security Top 10 2023 category,
a default ``severity``, a ``remediation``, its settings (``settings_model``, a
:class:`CheckOptions` subclass holding its thresholds, set under
``posture.checks.<name>``) and ``find(catalog, since)``, which returns its findings
from one evidence query in ``store.evidence_*``, the thresholds passed as parameters.

Evidence window and resolution. Time comes from the events, not the wall clock: "now"
is the newest stored event, and checks look at events from ``now - window`` on. A
finding is one row in the ``findings`` table for as long as it persists (same id: a
hash of check, host, method and template); each run that finds it again refreshes its
evidence, event count and last_seen. It becomes ``resolved`` when its check ran
without error and found no evidence in the window — the weakness has not been seen in
the last ``window`` of traffic (or retention removed the events). A check that fails,
is disabled or is not installed resolves nothing; a resolved finding found again is
reopened. A check whose thresholds were changed resolves what no longer meets them.
"""

from __future__ import annotations

import hashlib
import logging
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, Protocol, TypeVar, cast

import orjson
import polars as pl
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from apisight.store import Catalog
from apisight.store import findings as store

if TYPE_CHECKING:
    from apisight.config import PostureSettings

log = logging.getLogger(__name__)

#: How far back (from the newest stored event) a run looks for evidence.
DEFAULT_WINDOW = timedelta(days=7)
SEVERITIES = ("critical", "high", "medium", "low", "info")
Severity = Literal["critical", "high", "medium", "low", "info"]
#: Columns of an evidence frame that are the finding's own fields, not evidence.
_OWN_COLUMNS = ("host", "method", "path", "first_seen", "last_seen", "owasp", "severity")


@dataclass(frozen=True)
class Finding:
    """One weakness of one endpoint, with the evidence that shows it (never a raw value)."""

    id: str
    check: str
    owasp: str
    severity: str
    host: str
    method: str
    path: str
    evidence: dict[str, Any] = field(hash=False)
    first_seen: datetime | None
    last_seen: datetime | None
    remediation: str

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@cache
def _known_types() -> tuple[str, ...]:
    # imported when a list is first configured: it reads the recognizer YAML (once; settings
    # are validated again for every batch)
    from apisight.sensitive.catalog import load_catalog

    return tuple(load_catalog().names)


def _sensitive_types(value: tuple[str, ...]) -> tuple[str, ...]:
    known = _known_types()
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ValueError(f"unknown sensitive-data type(s) {', '.join(unknown)} (known: {', '.join(known)})")
    return value


#: A list of sensitive-data types (recognizer names); unknown ones are rejected.
SensitiveTypes = Annotated[tuple[str, ...], AfterValidator(_sensitive_types)]


def _compiles(value: str) -> str:
    try:
        re.compile(value)
    except re.error as e:
        raise ValueError(f"regular expression {value!r} does not compile: {e}") from e
    return value


#: A regular expression. DuckDB matches it (RE2: no look-arounds or back-references); Python's
#: ``re`` only checks it here, so an RE2-only error shows as the check failing at run time.
Regex = Annotated[str, AfterValidator(_compiles)]


def _not_empty(value: tuple[Any, ...]) -> tuple[Any, ...]:
    if not value:
        raise ValueError("give at least one (to run none, disable the check: enabled: false)")
    return value


#: Marks a list setting that must not be empty (checked after its items, so a bad item is
#: reported alone).
NonEmpty = AfterValidator(_not_empty)


class CheckOptions(BaseModel):
    """Settings every check has (``posture.checks.<name>``); each check adds its thresholds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description=(
        "run the check; a disabled check neither raises nor resolves findings (its open ones stay as they are)"))
    severity: Severity | None = Field(
        default=None, description="every finding of the check gets this severity instead of the check's own rating")


OptionsT = TypeVar("OptionsT", bound=CheckOptions)


class Check(Protocol):
    """What a posture check provides; built-ins and plugins alike."""

    name: str
    owasp: str
    severity: str
    remediation: str

    @property
    def options(self) -> CheckOptions:
        """Its validated ``posture.checks.<name>`` settings."""
        ...

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        """Findings from the stored events at or after ``since``."""
        ...


class BaseCheck(ABC, Generic[OptionsT]):
    """Base class of the built-in checks: set the class attributes, ``settings_model`` and
    :meth:`find`. Constructed with its options (the model's defaults when none are given)."""

    name: str
    owasp: str
    severity: str
    remediation: str
    settings_model: type[CheckOptions] = CheckOptions

    def __init__(self, options: OptionsT | None = None) -> None:
        self.options: OptionsT = options if options is not None else cast(OptionsT, self.settings_model())

    @abstractmethod
    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        """Findings from the stored events at or after ``since``."""


def finding_id(check: str, host: str, method: str, path: str) -> str:
    """Stable id: the same weakness on the same endpoint is the same finding across runs."""
    digest = hashlib.sha256(f"{check}\x1f{host}\x1f{method}\x1f{path}".encode()).hexdigest()
    return "f_" + digest[:16]


def findings_from_frame(check: Check, frame: pl.DataFrame) -> list[Finding]:
    """One finding per row of an evidence frame (``store.evidence_*`` queries).

    ``host``, ``method``, ``path``, ``first_seen``, ``last_seen`` are the finding's; an
    ``owasp`` or ``severity`` column overrides the check's default for that row, and the
    ``severity`` setting of the check (``posture.checks.<name>.severity``) overrides both;
    every other column is evidence.
    """
    override = _options(check).severity
    out = []
    for row in frame.to_dicts():
        host, method, path = row.get("host") or "", row.get("method") or "", row.get("path") or ""
        out.append(Finding(
            id=finding_id(check.name, host, method, path),
            check=check.name,
            owasp=row.get("owasp") or check.owasp,
            severity=override or row.get("severity") or check.severity,
            host=host,
            method=method,
            path=path,
            evidence={k: _plain(v) for k, v in row.items() if k not in _OWN_COLUMNS},
            first_seen=row.get("first_seen"),
            last_seen=row.get("last_seen"),
            remediation=check.remediation,
        ))
    return out


def run_checks(
    catalog: Catalog,
    run_id: str,
    checks: list[Check] | None = None,
    window: timedelta | None = None,
    *,
    settings: PostureSettings | None = None,
) -> dict[str, Any]:
    """Run the checks, store the findings, return a summary.

    ``checks`` defaults to every installed check with its options from ``settings``
    (``posture.checks``; defaults when None); ``window`` to ``settings.window_days``.
    A check that raises is logged and reported under ``failed``; its stored findings are
    left as they were. A disabled check (``enabled: false``) does not run and does not
    resolve its open findings either — not seeing a weakness because nobody looked is not
    a fix — so they stay open, unrefreshed, until the check runs again;
    it is reported under ``disabled``.
    """
    if checks is None:
        from apisight.posture.checks import create_all

        checks = create_all(settings)
    if window is None:
        window = timedelta(days=settings.window_days) if settings is not None else DEFAULT_WINDOW
    db = catalog.db
    store.ensure_tables(db)
    now = store.newest_event(db)
    found: list[Finding] = []
    ran: list[str] = []
    failed: dict[str, str] = {}
    by_check: dict[str, int] = {}
    disabled = [c.name for c in checks if not _options(c).enabled]
    checks = [c for c in checks if _options(c).enabled]
    if now is not None:
        since = now - window
        with store.evidence_memory(db):  # the queries spill past it rather than grow with the window
            for check in checks:
                try:
                    results = check.find(catalog, since)
                except Exception as e:  # noqa: BLE001 - one broken check must not stop the others
                    log.warning("posture check %s failed: %s", check.name, e)
                    failed[check.name] = str(e)
                    continue
                ran.append(check.name)
                by_check[check.name] = len(results)
                found.extend(results)
    counts = store.save_findings(db, _frame(found), ran, run_id, now)
    by_severity: dict[str, int] = {}
    for f in found:
        by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
    return {
        "checks": ran,
        "failed": failed,
        "disabled": disabled,
        "found": len(found),
        "by_check": by_check,
        "by_severity": by_severity,
        **counts,
    }


def _options(check: Check) -> CheckOptions:
    """The check's options; a plugin written before checks had settings gets the common defaults."""
    return getattr(check, "options", None) or CheckOptions()


def _frame(found: list[Finding]) -> pl.DataFrame:
    schema: dict[str, Any] = {
        "id": pl.String, "check_name": pl.String, "owasp": pl.String, "severity": pl.String,
        "host": pl.String, "method": pl.String, "path": pl.String, "evidence": pl.String,
        "remediation": pl.String, "events": pl.Int64,
        "first_seen": pl.Datetime("us", "UTC"), "last_seen": pl.Datetime("us", "UTC"),
    }
    rows = [
        {"id": f.id, "check_name": f.check, "owasp": f.owasp, "severity": f.severity, "host": f.host,
         "method": f.method, "path": f.path, "evidence": orjson.dumps(f.evidence, default=str).decode(),
         "remediation": f.remediation, "events": int(f.evidence.get("events") or 0),
         "first_seen": f.first_seen, "last_seen": f.last_seen}
        for f in found
    ]
    return pl.DataFrame(rows, schema=schema)


def _plain(value: Any) -> Any:
    """Evidence as JSON-ready values: JSON text columns (histograms) become objects."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value

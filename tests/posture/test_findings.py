"""Posture findings: the run over checks, stable ids, dedup across runs and resolution,
and per-check settings (``posture.checks``).

Data goes through the real pipeline (HAR lines -> analyze); checks are then run directly.
The helpers here (``harl``, ``analyze_lines``, ``findings_of``, ``configured``) are shared
by the ``test_checks_*`` modules.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from apisight.config import PostureSettings, Settings
from apisight.errors import ConfigError
from apisight.pipeline import RunRequest, analyze
from apisight.posture.checks import check_classes, create, create_all, settings_model
from apisight.posture.checks.plaintext_http import PlaintextHttpCheck
from apisight.posture.checks.sensitive_data_without_auth import SensitiveDataWithoutAuthCheck
from apisight.posture.findings import Check, Finding, finding_id, run_checks
from apisight.store import Catalog
from apisight.store.findings import load_findings

DAY = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
EXTERNAL = "198.51.100.7"
INTERNAL = "10.1.2.3"
SSN_BODY = {"name": "Ann", "ssn": "123-45-6789"}


def harl(
    url: str,
    *,
    status: int = 200,
    body: Any = None,
    client: str = EXTERNAL,
    headers: list[tuple[str, str]] = (),  # type: ignore[assignment]
    method: str = "GET",
    request_body: str | None = None,
    at: datetime = DAY,
    content_type: str = "application/json",
    response_headers: list[tuple[str, str]] = (),  # type: ignore[assignment]
) -> str:
    """One HAR-lines entry; ``body`` is JSON-encoded unless it is already text."""
    text = body if isinstance(body, str) else orjson.dumps(body if body is not None else {}).decode()
    request: dict[str, Any] = {"method": method, "url": url, "headers": [{"name": n, "value": v} for n, v in headers],
                               "bodySize": 0}
    if request_body is not None:
        request["postData"] = {"mimeType": "application/json", "text": request_body}
    return orjson.dumps({
        "startedDateTime": at.isoformat().replace("+00:00", "Z"), "time": 10, "_clientIP": client,
        "request": request,
        "response": {"status": status,
                     "headers": [{"name": n, "value": v} for n, v in [("Content-Type", content_type),
                                                                      *response_headers]],
                     "content": {"size": len(text), "mimeType": content_type, "text": text},
                     "bodySize": len(text)},
    }).decode()


def analyze_lines(tmp_path: Path, lines: list[str], name: str = "t.harl", spec: str | None = None) -> str:
    """Store ``lines`` through the real pipeline into ``tmp_path/data``; the run id.

    ``spec`` is the text of an OpenAPI document to analyse the traffic against.
    """
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    specs = []
    if spec is not None:
        specs.append(tmp_path / "openapi.yaml")
        specs[0].write_text(spec)
    settings = Settings.model_validate({"posture": {"enabled": False}})  # the tests run the checks themselves
    return str(analyze(RunRequest([str(path)], tmp_path / "data", settings, specs=specs))["run_id"])


def findings_of(tmp_path: Path, check: Any, run_id: str = "test-run") -> dict[tuple[str, str], Finding]:
    """Run one check over the stored data: its findings by (method, template)."""
    with Catalog(tmp_path / "data") as catalog:
        found = check.find(catalog, datetime(2000, 1, 1, tzinfo=UTC))
    return {(f.method, f.path): f for f in found}


def configured(name: str, **options: Any) -> Check:
    """The check ``name`` set up as ``posture.checks.<name>: {options}`` in apisight.yaml would."""
    settings = Settings.model_validate({"posture": {"checks": {name: options}}})
    (check,) = [c for c in create_all(settings.posture) if c.name == name]
    return check


def stored(tmp_path: Path, status: str | None = None) -> dict[str, dict[str, Any]]:
    with Catalog(tmp_path / "data", read_only=True) as catalog:
        return {r["id"]: r for r in load_findings(catalog.db, status=status).to_dicts()}


CHECKS = [SensitiveDataWithoutAuthCheck(), PlaintextHttpCheck()]


def run(tmp_path: Path, lines: list[str], name: str) -> dict[str, Any]:
    run_id = analyze_lines(tmp_path, lines, name)
    with Catalog(tmp_path / "data") as catalog:
        return run_checks(catalog, run_id, CHECKS)


def leaky(at: datetime, n: int = 3) -> list[str]:
    return [harl(f"https://api.bank.example/v1/customers/{i}", body=SSN_BODY, at=at) for i in range(n)]


def clean(at: datetime, n: int = 3) -> list[str]:
    return [harl(f"https://api.bank.example/v1/customers/{i}", body=SSN_BODY, at=at,
                 headers=[("Authorization", "Bearer abcdefghijklmnopqrstuvwxyz")]) for i in range(n)]


def test_finding_ids_are_stable_and_distinct():
    a = finding_id("plaintext_http", "h", "GET", "/v1/x/{id}")
    assert a == finding_id("plaintext_http", "h", "GET", "/v1/x/{id}")
    assert a != finding_id("plaintext_http", "h", "POST", "/v1/x/{id}")
    assert a != finding_id("verbose_errors", "h", "GET", "/v1/x/{id}")


def test_a_finding_carries_the_endpoint_evidence_and_remediation(tmp_path):
    summary = run(tmp_path, leaky(DAY), "a.harl")
    assert summary["found"] == 1 and summary["new"] == 1 and summary["checks"] == [c.name for c in CHECKS]
    (row,) = stored(tmp_path).values()
    assert row["check"] == "sensitive_data_without_auth" and row["owasp"].startswith("API2:2023")
    assert (row["host"], row["method"], row["path"]) == ("api.bank.example", "GET", "/v1/customers/{customer_id}")
    assert row["id"] == finding_id(row["check"], row["host"], row["method"], row["path"])
    evidence = orjson.loads(row["evidence"])
    assert evidence["events"] == 3 and evidence["types"] == ["us_ssn"]
    assert evidence["masked_examples"] == ["***-**-6789"] and len(evidence["sample_event_ids"]) == 3
    assert "123-45-6789" not in row["evidence"]
    assert row["remediation"] and row["status"] == "open"


def test_a_persisting_finding_stays_one_row_and_its_last_seen_advances(tmp_path):
    run(tmp_path, leaky(DAY), "a.harl")
    summary = run(tmp_path, leaky(DAY + timedelta(days=1)), "b.harl")
    assert summary["new"] == 0 and summary["resolved"] == 0
    (row,) = stored(tmp_path, status=None).values()
    assert row["status"] == "open" and row["runs"] == 2 and row["events"] == 6
    assert row["first_seen"] == DAY and row["last_seen"] == DAY + timedelta(days=1)


def test_a_finding_resolves_when_the_window_no_longer_shows_it_and_reopens(tmp_path):
    run(tmp_path, leaky(DAY), "a.harl")
    summary = run(tmp_path, clean(DAY + timedelta(days=10)), "b.harl")  # fixed: authenticated from now on
    assert summary["resolved"] == 1 and summary["open"] == 0
    (row,) = stored(tmp_path, status="resolved").values()
    assert row["resolved_at"] == DAY + timedelta(days=10) and row["last_seen"] == DAY
    summary = run(tmp_path, leaky(DAY + timedelta(days=11)), "c.harl")  # regression
    assert summary["reopened"] == 1 and summary["new"] == 0
    (row,) = stored(tmp_path).values()
    assert row["status"] == "open" and row["resolved_run"] is None and row["runs"] == 2


def test_a_failing_check_resolves_nothing_and_is_reported(tmp_path):
    run(tmp_path, leaky(DAY), "a.harl")

    class Broken:
        name, owasp, severity, remediation = "sensitive_data_without_auth", "API2:2023 x", "high", "r"

        def find(self, catalog, since):
            raise RuntimeError("boom")

    run_id = analyze_lines(tmp_path, clean(DAY + timedelta(days=10)), "b.harl")
    with Catalog(tmp_path / "data") as catalog:
        summary = run_checks(catalog, run_id, [Broken()])
    assert summary["failed"] == {"sensitive_data_without_auth": "boom"} and summary["resolved"] == 0
    assert [r["status"] for r in stored(tmp_path).values()] == ["open"]


def test_listing_filters_by_severity_and_owasp(tmp_path):
    lines = leaky(DAY) + [harl("http://api.bank.example/v1/rates", client=EXTERNAL)]
    run(tmp_path, lines, "a.harl")
    with Catalog(tmp_path / "data", read_only=True) as catalog:
        assert load_findings(catalog.db)["check"].to_list() == ["sensitive_data_without_auth", "plaintext_http"]
        assert load_findings(catalog.db, owasp="API8")["check"].to_list() == ["plaintext_http"]
        assert load_findings(catalog.db, owasp="api2:2023")["check"].to_list() == ["sensitive_data_without_auth"]
        assert load_findings(catalog.db, owasp="API1").height == 0
        assert load_findings(catalog.db, severity="medium")["check"].to_list() == ["plaintext_http"]


def test_listing_before_any_check_ran_is_empty(tmp_path):
    analyze_lines(tmp_path, leaky(DAY), "a.harl")
    with Catalog(tmp_path / "data", read_only=True) as catalog:
        assert load_findings(catalog.db).height == 0


def test_every_builtin_check_is_registered():
    from apisight.posture import checks

    modules = {p.stem for p in Path(checks.__file__).parent.glob("*.py") if p.stem != "__init__"}
    assert set(checks.names()) >= modules
    assert all(checks.create(n).name == n for n in modules)


# --- per-check settings (posture.checks) ----------------------------------------------------------------


def settings(checks: dict[str, Any]) -> PostureSettings:
    return Settings.model_validate({"posture": {"checks": checks}}).posture


def run_with(tmp_path: Path, lines: list[str], name: str, checks: dict[str, Any]) -> dict[str, Any]:
    """Analyse ``lines``, then run every installed check as ``posture.checks: {checks}`` sets them up."""
    run_id = analyze_lines(tmp_path, lines, name)
    with Catalog(tmp_path / "data") as catalog:
        return run_checks(catalog, run_id, settings=settings(checks))


def test_every_check_has_a_settings_model_whose_defaults_validate():
    for name, cls in check_classes().items():
        model = settings_model(cls)
        assert model().enabled is True and model().severity is None, name
        assert create(name).options == model(), name


def rows_of(tmp_path: Path, check: str) -> list[dict[str, Any]]:
    return [r for r in stored(tmp_path, status=None).values() if r["check"] == check]


def test_a_disabled_check_does_not_run_and_does_not_resolve_its_findings(tmp_path):
    run_with(tmp_path, leaky(DAY), "a.harl", {})
    # fixed traffic 10 days later: had the check run, its finding would have resolved
    summary = run_with(tmp_path, clean(DAY + timedelta(days=10)), "b.harl",
                       {"sensitive_data_without_auth": {"enabled": False}})
    assert "sensitive_data_without_auth" not in summary["checks"]
    assert len(summary["checks"]) == len(check_classes()) - 1
    assert summary["disabled"] == ["sensitive_data_without_auth"]
    (row,) = rows_of(tmp_path, "sensitive_data_without_auth")
    assert row["status"] == "open" and row["runs"] == 1 and row["resolved_run"] is None
    # enabled again, it runs and resolves
    summary = run_with(tmp_path, clean(DAY + timedelta(days=11)), "c.harl", {})
    assert summary["disabled"] == [] and "sensitive_data_without_auth" in summary["checks"]
    (row,) = rows_of(tmp_path, "sensitive_data_without_auth")
    assert row["status"] == "resolved"


def test_a_disabled_check_does_not_raise_findings(tmp_path):
    summary = run_with(tmp_path, leaky(DAY), "a.harl", {"sensitive_data_without_auth": {"enabled": False}})
    assert "sensitive_data_without_auth" not in summary["by_check"]
    assert rows_of(tmp_path, "sensitive_data_without_auth") == []


def test_an_explicit_check_list_also_skips_disabled_checks(tmp_path):
    run_id = analyze_lines(tmp_path, leaky(DAY), "a.harl")
    with Catalog(tmp_path / "data") as catalog:
        summary = run_checks(catalog, run_id, [configured("sensitive_data_without_auth", enabled=False)])
    assert summary["checks"] == [] and summary["disabled"] == ["sensitive_data_without_auth"]
    assert summary["found"] == 0


def test_the_severity_setting_overrides_the_checks_rating(tmp_path):
    lines = leaky(DAY) + [harl("http://api.bank.example/v1/rates", client=EXTERNAL)]
    run_with(tmp_path, lines, "a.harl", {"sensitive_data_without_auth": {"severity": "critical"},
                                         "plaintext_http": {"severity": "info"}})
    assert [r["severity"] for r in rows_of(tmp_path, "sensitive_data_without_auth")] == ["critical"]  # was high
    assert [r["severity"] for r in rows_of(tmp_path, "plaintext_http")] == ["info"]  # was medium


def test_the_window_comes_from_the_settings_unless_given(tmp_path):
    run_with(tmp_path, leaky(DAY), "a.harl", {})
    run_id = analyze_lines(tmp_path, clean(DAY + timedelta(days=3)), "b.harl")
    for days, status in ((7, "open"), (2, "resolved")):
        with Catalog(tmp_path / "data") as catalog:
            run_checks(catalog, run_id, settings=PostureSettings(window_days=days))
        assert [r["status"] for r in rows_of(tmp_path, "sensitive_data_without_auth")] == [status]


@pytest.mark.parametrize(
    ("checks", "message"),
    [
        ({"no_rate_limitting": {}}, "posture.checks: unknown check(s) no_rate_limitting (installed: basic_auth_over_internet, bola_prone_ids,"),
        ({"no_rate_limiting": {"max_requests": 1}},
         "posture.checks.no_rate_limiting: max_requests: Input should be greater than or equal to 2"),
    ],
)
def test_the_registry_names_the_check_and_field(checks, message):
    with pytest.raises(ConfigError) as info:
        create_all(PostureSettings.model_construct(checks=checks))  # as if validation had been skipped
    assert message in str(info.value)


def test_every_check_setting_is_documented_in_the_readme():
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| `posture.checks") or "`ignored_types`" in line]
    for name, cls in check_classes().items():
        for field in settings_model(cls).model_fields:
            assert any(field in row and (name in row or field in ("enabled", "severity")) for row in rows), (
                f"posture.checks.{name}.{field} is not in the README's Configuration table")

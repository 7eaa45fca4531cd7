"""The inventory as a user gets it from `analyze`: templates, spec status, drift, history."""

from __future__ import annotations

import textwrap
from pathlib import Path

import polars as pl
import pytest

from apisight.config import Settings
from apisight.discovery.reports import drift_rows, inventory_rows
from apisight.discovery.spec import load_spec
from apisight.pipeline import RunRequest, analyze
from apisight.readers.base import ReaderOptions
from apisight.store import Catalog

FORMAT = '$remote_addr [$time_local] "$request" $status $request_time $host "$http_authorization"'
SPEC = textwrap.dedent(
    """
    openapi: 3.0.3
    info: {title: Accounts, version: "2"}
    servers: [{url: "https://api.bank.example"}]
    security: [{bearer: []}]
    components:
      securitySchemes:
        bearer: {type: http, scheme: bearer}
    paths:
      /v1/accounts/{account_id}:
        get:
          operationId: getAccountV1
          deprecated: true
          parameters: [{name: account_id, in: path, required: true, schema: {type: integer}}]
          responses: {"200": {description: ok}}
      /v2/accounts/{account_id}:
        get:
          operationId: getAccount
          parameters:
            - {name: account_id, in: path, required: true, schema: {type: integer}}
            - {name: expand, in: query, schema: {type: string}}
          responses: {"200": {description: ok}, "404": {description: missing}}
      /v2/accounts/me:
        get:
          operationId: getMyAccount
          responses: {"200": {description: ok}}
      /v2/statements:
        get:
          operationId: listStatements
          responses: {"200": {description: ok}}
    """
)


def line(path: str, status: int = 200, auth: str = "Bearer abc.def", minute: int = 0, ip: str = "203.0.113.7") -> str:
    return (f'{ip} [28/Nov/2026:10:{minute:02d}:00 +0000] "GET {path} HTTP/1.1" {status} 0.010 '
            f'api.bank.example "{auth}"\n')


def run(tmp_path: Path, name: str, lines: list[str], spec: Path | None = None) -> dict:
    log = tmp_path / name
    log.write_text("".join(lines))
    request = RunRequest([str(log)], tmp_path / "data", Settings(), options=ReaderOptions(log_format=FORMAT),
                         specs=[spec] if spec else [])
    return analyze(request)


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.yaml"
    path.write_text(SPEC)
    return path


def endpoints(tmp_path: Path) -> dict[tuple[str, str], dict]:
    with Catalog(tmp_path / "data", read_only=True) as catalog:
        return {(e["method"], e["path"]): e for e in inventory_rows(catalog)}


def test_spec_templates_win_and_the_rest_is_learned(tmp_path, spec):
    traffic = [line(f"/v2/accounts/{n}?expand=owner") for n in range(100, 130)]
    traffic += [line("/v2/accounts/me")] * 3
    traffic += [line(f"/v1/accounts/{n}") for n in range(5)]
    traffic += [line(f"/v3/beta/insights/{n}") for n in range(1000, 1020)]
    run(tmp_path, "a.log", traffic, spec)
    found = endpoints(tmp_path)
    assert found["GET", "/v2/accounts/{account_id}"]["spec_status"] == "documented"
    assert found["GET", "/v2/accounts/{account_id}"]["count"] == 30
    assert found["GET", "/v2/accounts/me"]["count"] == 3  # a literal beside the parameter
    assert found["GET", "/v1/accounts/{account_id}"]["spec_status"] == "zombie"
    assert found["GET", "/v3/beta/insights/{insight_id}"]["spec_status"] == "shadow"
    assert found["GET", "/v2/statements"]["spec_status"] == "unused"
    assert found["GET", "/v2/statements"]["count"] == 0


def test_counts_accumulate_and_history_records_what_changed(tmp_path, spec):
    run(tmp_path, "a.log", [line(f"/v2/accounts/{n}") for n in range(10)], spec)
    run(tmp_path, "b.log", [line(f"/v2/accounts/{n}?expand=owner&debug=1", minute=5) for n in range(10)]
        + [line(f"/v2/accounts/{n}", auth="-", minute=6) for n in range(4)], spec)
    account = endpoints(tmp_path)["GET", "/v2/accounts/{account_id}"]
    assert account["count"] == 24
    assert {p["name"] for p in account["params"]} == {"expand", "debug"}
    assert not any(p["required"] for p in account["params"])
    assert account["auth"] == {"bearer": 20, "none": 4}
    drift = {(d["kind"], d["detail"]) for d in account["drift"]}
    assert ("undocumented_query_parameter", "debug") in drift
    assert ("undocumented_query_parameter", "expand") not in drift
    assert any(kind == "auth_mismatch" for kind, _ in drift)
    with Catalog(tmp_path / "data", read_only=True) as catalog:
        changes = catalog.query(
            "SELECT change, detail FROM inventory_changes WHERE path = '/v2/accounts/{account_id}' ORDER BY ts, change"
        ).rows
    assert changes[0] == ("new_endpoint", "documented")
    assert ("new_parameter", "debug, expand") in changes
    assert sum(1 for c, _ in changes if c == "new_endpoint") == 1


def test_undocumented_status_and_method(tmp_path, spec):
    traffic = [line(f"/v2/accounts/{n}", status=500) for n in range(3)] + [line("/v2/accounts/1", status=404)]
    run(tmp_path, "a.log", traffic, spec)
    account = endpoints(tmp_path)["GET", "/v2/accounts/{account_id}"]
    kinds = {(d["kind"], d["detail"]) for d in account["drift"]}
    assert ("undocumented_status", "500") in kinds and ("undocumented_status", "404") not in kinds


def test_drift_against_a_spec_given_only_afterwards(tmp_path, spec):
    run(tmp_path, "a.log", [line(f"/v2/accounts/{n}?debug=1") for n in range(12)] + [line("/v9/secret/x")])
    with Catalog(tmp_path / "data", read_only=True) as catalog:
        assert {e["spec_status"] for e in inventory_rows(catalog)} == {"shadow"}  # no spec at analysis time
        rows = drift_rows(catalog, load_spec(spec))
    by_path = {r["path"]: r for r in rows}
    assert by_path["/v2/accounts/{account_id}"]["spec_status"] == "documented"
    assert by_path["/v2/accounts/{account_id}"]["count"] == 12
    assert by_path["/v2/statements"]["spec_status"] == "unused"
    assert by_path["/v9/secret/x"]["spec_status"] == "shadow"


def test_query_values_are_shapes_not_values(tmp_path):
    run(tmp_path, "a.log", [line(f"/v2/search?email=ann{n}@example.com&page={n}") for n in range(20)])
    params = {p["name"]: p for p in endpoints(tmp_path)["GET", "/v2/search"]["params"]}
    assert params["page"]["type"] == "integer" and params["page"]["required"]
    assert "ann" not in str(params) and "example.com" not in str(params["email"]["example_shape"])


def test_demo_inventory_finds_the_planted_shadow_and_zombie(tmp_path):
    from apisight.demo import generate_demo

    manifest = generate_demo(tmp_path / "in", scale=0.1)
    per_file = {str(f.path): (f.format, ReaderOptions(log_format=f.log_format)) for f in manifest.files}
    analyze(RunRequest([str(f.path) for f in manifest.files], tmp_path / "data", Settings(),
                       per_file_options=per_file, specs=list(manifest.specs)))
    found = endpoints(tmp_path)
    statuses = pl.DataFrame([{"path": p, "status": e["spec_status"]} for (_, p), e in found.items()])
    documented = {t for s in manifest.specs for op in load_spec(s).operations for t in op.full_templates}
    for (_, path), e in found.items():
        if e["spec_status"] == "documented":
            assert path in documented  # documented endpoints carry the spec's exact template
    assert statuses.filter(pl.col("path").str.contains("beta"))["status"].to_list() == ["shadow"]
    assert "zombie" in statuses.filter(pl.col("path").str.starts_with("/v1/customers"))["status"].to_list()


def test_templates_generalise_across_runs_and_old_paths_follow(tmp_path):
    names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj"]
    run(tmp_path, "a.log", [line(f"/v2/users/{n}/profile") for n in names[:2]])
    assert ("GET", "/v2/users/alice/profile") in endpoints(tmp_path)  # two names: still literal
    run(tmp_path, "b.log", [line(f"/v2/users/{n}/profile", minute=3) for n in names[2:]])
    found = endpoints(tmp_path)
    generalised = [k for k in found if k[1].startswith("/v2/users/{")]
    assert len(generalised) == 1 and found[generalised[0]]["count"] == 12
    assert not any(path.startswith("/v2/users/alice") for _, path in found)


def test_a_spec_given_later_remaps_what_was_seen(tmp_path, spec):
    run(tmp_path, "a.log", [line(f"/v2/accounts/{n}") for n in range(10)])
    assert endpoints(tmp_path)["GET", "/v2/accounts/{account_id}"]["spec_status"] == "shadow"
    run(tmp_path, "b.log", [line("/v2/accounts/me", minute=4)], spec)
    found = endpoints(tmp_path)
    assert found["GET", "/v2/accounts/{account_id}"]["spec_status"] == "documented"
    assert found["GET", "/v2/accounts/{account_id}"]["count"] == 10


def test_owners_from_config_where_the_spec_names_none(tmp_path):
    settings = Settings.model_validate({"discovery": {"owners": [
        {"owner": "cards-team", "paths": ["/v2/cards*"]},
        {"owner": "platform", "paths": ["*"], "hosts": ["other.example"]},
    ]}})
    log = tmp_path / "a.log"
    log.write_text("".join(line(f"/v2/cards/{n}") for n in range(10)) + line("/v2/loans/summary"))
    analyze(RunRequest([str(log)], tmp_path / "data", settings, options=ReaderOptions(log_format=FORMAT)))
    found = endpoints(tmp_path)
    assert found["GET", "/v2/cards/{card_id}"]["owner"] == "cards-team"
    assert found["GET", "/v2/loans/summary"]["owner"] is None

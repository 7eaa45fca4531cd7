"""The inventory kept up to date run by run equals one aggregation over the same events.

Traffic: the demo's baseline over three days (HAR lines: latencies, content types, query
strings, auth, many clients) plus nginx lines whose /v2/users/<name> paths are generalised
into a template only in the second run. Runs: day 1; day 2 (a new day, a generalisation);
day 2 again (known paths only) with a spec given for the first time (every path remapped);
day 3, after which retention (2 days) drops day 1.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from apisight.config import Settings
from apisight.pipeline import RunRequest, analyze
from apisight.readers.base import ReaderOptions
from apisight.store import Catalog
from apisight.store import inventory as q
from apisight.store import inventory_partials as partials
from apisight.store import inventory_totals as totals
from apisight.store.layout import events_dir

FORMAT = '$remote_addr [$time_local] "$request" $status $request_time $host "$http_authorization"'
DAYS = [date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)]
NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj"]
SPEC = textwrap.dedent(
    """
    openapi: 3.0.3
    info: {title: Users, version: "2"}
    servers: [{url: "https://api.bank.example"}]
    paths:
      /v2/users/{user}/profile:
        get:
          operationId: getProfile
          parameters: [{name: user, in: path, required: true, schema: {type: string}}]
          responses: {"200": {description: ok}}
    """
)
KEYS = ["host", "method", "path"]
PERCENTILES = ["latency_p50", "latency_p95", "latency_p99"]
SETTINGS = {"retention": {"days": 2}, "detect": {"enabled": False}, "posture": {"enabled": False}}


def nginx_line(day: date, path: str, n: int, status: int = 200) -> str:
    stamp = datetime(day.year, day.month, day.day, 9, n % 60, tzinfo=UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    return (f'198.51.100.{n % 7} [{stamp}] "GET {path}?page={n % 3} HTTP/1.1" {status} {0.004 * (n + 1):.3f} '
            f'api.bank.example "Bearer t{n}"\n')


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """Per run, the files it reads (HAR lines of one demo day, nginx lines)."""
    from apisight.demo import demo_frames
    from apisight.demo.har import write_harl

    folder = tmp_path_factory.mktemp("inputs")
    demo = pl.concat(list(demo_frames(scale=0.02).values()), how="diagonal_relaxed")
    shift = datetime(2026, 11, 25, tzinfo=UTC) - datetime(2024, 3, 1, tzinfo=UTC)  # old enough for retention
    demo = demo.with_columns(pl.col("ts") - shift).sort("ts")
    users = {0: NAMES[:2], 1: NAMES[2:]}
    files: dict[str, list[Path]] = {}
    for i, day in enumerate(DAYS):
        har = folder / f"day{i}.harl"
        write_harl(demo.filter(pl.col("ts").dt.date() == day), har)
        log = folder / f"day{i}.log"
        log.write_text("".join(nginx_line(day, f"/v2/users/{name}/profile", n, 200 if n % 5 else 404)
                               for n, name in enumerate(users.get(i, NAMES[::3]) * 3)))
        files[f"day{i}"] = [har, log]
    (folder / "users.yaml").write_text(SPEC)
    return files


def analyze_runs(data: Path, runs: list[list[Path]], specs: list[list[Path]]) -> list[dict]:
    summaries = []
    for files, spec in zip(runs, specs, strict=True):
        per_file = {str(f): ("nginx", ReaderOptions(log_format=FORMAT)) for f in files if f.suffix == ".log"}
        summaries.append(analyze(RunRequest([str(f) for f in files], data, Settings.model_validate(SETTINGS),
                                            per_file_options=per_file, specs=spec)))
    return summaries


def assert_same_facts(found: pl.DataFrame, expected: pl.DataFrame, keys: list[str] = KEYS) -> None:
    """Equal, but for percentiles: within LATENCY_ALPHA of the expected (exact) value."""
    assert sorted(found.select(keys).rows()) == sorted(expected.select(keys).rows())
    joined = expected.join(found, on=keys, suffix="_found")
    for column in [c for c in expected.columns if c not in keys]:
        if column in PERCENTILES:
            bound = partials.LATENCY_ALPHA * pl.col(column).abs() * (1 + 1e-9) + 1e-12
            off = joined.filter(((pl.col(f"{column}_found") - pl.col(column)).abs() > bound)
                                | (pl.col(f"{column}_found").is_null() != pl.col(column).is_null()))
        else:
            off = joined.filter(pl.col(f"{column}_found").ne_missing(pl.col(column)))
        assert off.height == 0, f"{column}: {off.select(*keys, column, f'{column}_found').head(5)}"


def assert_matches_a_full_aggregation(data: Path) -> pl.DataFrame:
    """The facts kept incrementally equal those aggregated over every stored event."""
    with Catalog(data, read_only=True) as catalog:
        db = catalog.db
        facts = totals.endpoint_facts(db)
        assert facts.height and facts["clients"].max() < partials.SKETCH_K  # clients are exact here
        assert_same_facts(facts, q.endpoint_facts(db).select(facts.columns))
        assert_same_facts(totals.query_params(db), q.query_params(db), [*KEYS, "name"])
        return facts


def test_runs_add_up_to_one_run_over_the_same_inputs(tmp_path, inputs):
    spec = [inputs["day0"][0].parent / "users.yaml"]
    runs = [inputs["day0"], inputs["day1"], inputs["day1"], inputs["day2"]]
    data = tmp_path / "runs"
    for i, (files, specs) in enumerate(zip(runs, [[], [], spec, spec], strict=True)):
        summary = analyze_runs(data, [files], [specs])[0]
        facts = assert_matches_a_full_aggregation(data)
        paths = set(facts["path"].to_list())
        if i == 0:
            assert "/v2/users/alice/profile" in paths  # two names: literal for now
        if i == 1:
            assert "/v2/users/{user}/profile" in paths and "/v2/users/alice/profile" not in paths
    assert summary["retention"]["removed_days"] == [str(DAYS[0])]
    with Catalog(data, read_only=True) as catalog:
        assert catalog.query("SELECT DISTINCT day FROM inventory_endpoint_days ORDER BY day").rows == [
            (DAYS[1],), (DAYS[2],)]
        incremental = totals.endpoint_facts(catalog.db)
        assert incremental["latency_p95"].is_not_null().all() and incremental["response_content_types"].is_not_null().any()
        users = incremental.filter(pl.col("path") == "/v2/users/{user}/profile").row(0, named=True)
        # day 1 was given twice: the second time it is recognised as read and skipped
        assert users["origin"] == "spec" and users["count"] == 30 + 12

    one = tmp_path / "one"
    analyze_runs(one, [[f for files in runs for f in files]], [spec])
    with Catalog(one, read_only=True) as catalog:
        at_once = totals.endpoint_facts(catalog.db)
        params = totals.query_params(catalog.db)
        stored_at_once = catalog.query("SELECT count(*) FROM events").rows
    assert_same_facts(incremental, at_once)
    with Catalog(data, read_only=True) as catalog:
        assert_same_facts(totals.query_params(catalog.db), params, [*KEYS, "name"])
        assert catalog.query("SELECT count(*) FROM events").rows == stored_at_once


def test_an_older_catalog_is_aggregated_once_then_kept_up(tmp_path, inputs):
    data = tmp_path / "data"
    analyze_runs(data, [inputs["day0"]], [[]])
    with Catalog(data) as catalog:  # as a catalog made before partials existed
        for table in [*(f"{g}{p}" for g in (partials.PATH_DAYS, partials.ENDPOINT_DAYS, partials.ENDPOINT_TOTALS)
                        for p in partials.PARTS), "inventory_files"]:
            catalog.db.execute(f"DROP TABLE {table}")
        catalog.db.execute("DELETE FROM discovery_state WHERE name = ?", [partials.STATE])
    analyze_runs(data, [inputs["day1"], inputs["day2"]], [[], []])
    assert_matches_a_full_aggregation(data)


def test_other_settings_or_hash_start_over(tmp_path, inputs):
    data = tmp_path / "data"
    analyze_runs(data, [inputs["day0"]], [[]])
    with Catalog(data) as catalog:
        catalog.db.execute("UPDATE discovery_state SET state = '{\"version\": 0}' WHERE name = ?", [partials.STATE])
    analyze_runs(data, [inputs["day1"]], [[]])
    assert_matches_a_full_aggregation(data)


def test_a_file_lost_from_a_kept_day_takes_its_events_out(tmp_path, inputs):
    data = tmp_path / "data"
    analyze_runs(data, [inputs["day0"], inputs["day1"]], [[], []])
    lost = min((events_dir(data) / f"date={DAYS[1]}").glob("*.parquet"))
    lost.unlink()
    analyze_runs(data, [inputs["day2"]], [[]])
    assert_matches_a_full_aggregation(data)


def test_raw_path_rows_are_compacted(tmp_path, inputs, monkeypatch):
    monkeypatch.setattr(partials, "COMPACT_MIN_ROWS", 0)
    monkeypatch.setattr(partials, "COMPACT_FACTOR", 1)
    data = tmp_path / "data"
    analyze_runs(data, [inputs["day0"], inputs["day0"], inputs["day1"]], [[], [], []])
    with Catalog(data, read_only=True) as catalog:
        rows, distinct = catalog.query(
            f"SELECT count(*), count(DISTINCT (key, day)) FROM {partials.PATH_DAYS}").rows[0]
    assert rows == distinct
    assert_matches_a_full_aggregation(data)

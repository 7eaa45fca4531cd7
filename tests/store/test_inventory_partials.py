"""Partial aggregates of the inventory: percentiles within the bucket width, sketches of
distinct counts exact below k and within their standard error above, merging across runs."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from apisight.discovery.inventory import update_inventory
from apisight.events import EVENT_SCHEMA, conform
from apisight.store import Catalog, write_events
from apisight.store import inventory as q
from apisight.store import inventory_partials as partials
from apisight.store import inventory_totals as totals

START = datetime(2025, 5, 1, 8, tzinfo=UTC)


def events(path: str, n: int, *, latency: list[float | None] | None = None, clients: int = 1,
           offset: int = 0, query: str | None = None) -> pl.DataFrame:
    rows = [{"event_id": f"{path}-{offset + i}", "ts": START + timedelta(seconds=offset + i), "host": "api.example",
             "method": "GET", "path": path, "status": 200, "client_ip": f"c{(offset + i) % clients}",
             "latency_ms": latency[i] if latency else None, "query": query}
            for i in range(n)]
    return conform(pl.DataFrame(rows), EVENT_SCHEMA)


def update(data: Path, frame: pl.DataFrame, batch: str) -> Catalog:
    files = write_events(data, frame, batch)
    catalog = Catalog(data)
    catalog.add_files("events", files, batch)
    update_inventory(catalog, files, [], batch)
    return catalog


def spread(n: int) -> list[float | None]:
    """Latencies over seven decades, with zeros and a missing value."""
    return [0.0, 0.0, None] + [0.001 * 10 ** (7 * i / (n - 4)) for i in range(n - 3)]


@pytest.mark.parametrize(("n", "latency"), [
    (1, [12.5]),
    (2, [0.0, 40.0]),
    (7, [3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 900.0]),
    (500, spread(500)),
])
def test_percentiles_are_within_the_bucket_width(tmp_path, n, latency):
    with update(tmp_path, events("/v1/slow", n, latency=latency), "r1") as catalog:
        found = totals.endpoint_facts(catalog.db).row(0, named=True)
        exact = q.endpoint_facts(catalog.db).row(0, named=True)
    for column in ("latency_p50", "latency_p95", "latency_p99"):
        assert abs(found[column] - exact[column]) <= partials.LATENCY_ALPHA * exact[column] * (1 + 1e-9), column


def test_bucket_values_stay_within_alpha_of_their_members(tmp_path):
    import duckdb

    db = duckdb.connect()
    values = [1e-300, 1e-6, 0.37, 1.0, 1.0202, 99.9, 1000.0, 123456.789, 1e300, -0.5, -2500.0]
    rows = db.execute(
        f"SELECT x, {totals.bucket_value(partials.latency_bucket('x'))} FROM unnest(?::DOUBLE[]) t(x)", [values]
    ).fetchall()
    for x, v in rows:
        assert abs(v - x) <= partials.LATENCY_ALPHA * abs(x) * (1 + 1e-9)
    order = db.execute(f"SELECT {partials.latency_bucket('x')} FROM unnest(?::DOUBLE[]) t(x) ORDER BY x",
                       [[*values, 0.0]]).fetchall()
    assert order == sorted(order)  # buckets sort as their latencies do


@pytest.mark.parametrize("clients", [1, 100, partials.SKETCH_K - 1])
def test_distinct_clients_are_exact_below_k(tmp_path, clients):
    with update(tmp_path, events("/v1/x", clients * 2, clients=clients), "r1") as catalog:
        assert totals.endpoint_facts(catalog.db)["clients"].to_list() == [clients]


def test_distinct_clients_above_k_within_four_standard_errors_and_merged_across_runs(tmp_path):
    clients = 20_000
    update(tmp_path / "one", events("/v1/x", clients, clients=clients), "r1").close()
    update(tmp_path / "two", events("/v1/x", clients // 2, clients=clients), "r1").close()
    with update(tmp_path / "two", events("/v1/x", clients // 2, clients=clients, offset=clients // 2), "r2") as c:
        in_two_runs = totals.endpoint_facts(c.db)["clients"].item()
    with Catalog(tmp_path / "one", read_only=True) as c:
        in_one_run = totals.endpoint_facts(c.db)["clients"].item()
        assert q.endpoint_facts(c.db)["clients"].item() == clients
    assert in_two_runs == in_one_run  # the k smallest hashes of a union are those of its parts' k smallest
    assert abs(in_one_run - clients) <= 4 / math.sqrt(partials.SKETCH_K - 2) * clients


def test_query_parameters_merge_across_runs_and_days(tmp_path):
    update(tmp_path, events("/v1/search", 3, query="page=1&q=Ann"), "r1").close()
    late = events("/v1/search", 2, query="page=x2&sort=desc").with_columns(pl.col("ts") + timedelta(days=1))
    with update(tmp_path, late, "r2") as catalog:
        found = totals.query_params(catalog.db).sort("name")
        exact = q.query_params(catalog.db).sort("name")
    assert found.to_dicts() == exact.select(found.columns).to_dicts()
    assert found.filter(pl.col("name") == "page")["type"].item() == "string"  # no longer all integers


def test_an_update_leaves_no_staged_tables_behind(tmp_path):
    with update(tmp_path, events("/v1/search", 3, query="page=1"), "r1") as catalog:
        temporary = catalog.db.sql("SELECT table_name FROM duckdb_tables() WHERE temporary UNION ALL "
                                   "SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal").fetchall()
        assert totals.endpoint_facts(catalog.db).height == 1  # the kept aggregates are all there
    assert sorted(name for (name,) in temporary) == ["events", "sensitive"]  # the catalog's own views only

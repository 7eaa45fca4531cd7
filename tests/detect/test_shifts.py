"""'Normal abnormal': endpoint-wide shifts are recorded once and explain per-client deviations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from apisight.detect.shifts import api_change_rows, explained, find_shifts
from apisight.detect.state import ENDPOINT_HOURS_SCHEMA
from apisight.events import TIMESTAMP

T0 = datetime(2026, 11, 20, tzinfo=UTC)
KEY = {"host": "api.bank.example", "method": "GET", "template": "/v2/accounts/{account_id}"}


def hours(sizes: list[float], *, errors: list[int] | None = None, events: int = 100, clients: int = 40) -> pl.DataFrame:
    n = len(sizes)
    return pl.DataFrame({
        **{k: [v] * n for k, v in KEY.items()}, "hour": [T0 + timedelta(hours=i) for i in range(n)],
        "events": [events] * n, "clients": [clients] * n, "client_errors": [0] * n,
        "server_errors": errors or [0] * n, "size_median": sizes,
    }).cast(ENDPOINT_HOURS_SCHEMA)  # type: ignore[arg-type]


def traffic(hour: int, size_of, status_of=lambda c: 200, clients: int = 40) -> pl.DataFrame:
    """One request per client in ``hour``: the detection-frame columns shifts read."""
    rows = [{**KEY, "ts": T0 + timedelta(hours=hour, minutes=c % 60), "client": f"c{c}",
             "response_bytes": size_of(c), "ok": status_of(c) < 400,
             "client_error": 400 <= status_of(c) < 500, "server_error": status_of(c) >= 500}
            for c in range(clients)]
    return pl.DataFrame(rows).with_columns(pl.col("ts").cast(TIMESTAMP))


def test_a_rollout_seen_by_every_client_is_one_api_change_at_its_first_hour():
    state = hours([152.0] * 10 + [174.0] * 4)
    found = pl.concat([find_shifts(state, traffic(h, lambda c: 174)) for h in (10, 11, 12)])
    changes = api_change_rows(found, pl.DataFrame(), "run")
    assert changes.select("path", "change", "ts", "clients_affected").to_dicts() == [
        {"path": KEY["template"], "change": "response_changed", "ts": T0 + timedelta(hours=10),
         "clients_affected": 1.0}]
    again = api_change_rows(found, changes, "run-2")  # the next run does not record it twice
    assert again.height == 0


def test_an_endpoint_that_always_wobbles_records_no_change():
    sizes = list(np.random.default_rng(3).normal(45_000, 4_000, 14))
    state = hours(sizes)
    found = find_shifts(state, traffic(12, lambda c: int(sizes[12])))
    assert api_change_rows(found, pl.DataFrame(), "run").height == 0


def test_a_change_that_does_not_last_is_not_an_api_change():
    state = hours([152.0] * 10 + [174.0] + [152.0] * 3)
    found = find_shifts(state, traffic(10, lambda c: 174))
    assert api_change_rows(found, pl.DataFrame(), "run").height == 0


def test_an_error_surge_for_most_clients_explains_their_alerts_but_is_no_api_change():
    state = hours([152.0] * 12, errors=[0] * 10 + [80, 0])
    found = find_shifts(state, traffic(10, lambda c: 30, status_of=lambda c: 503 if c % 5 else 200))
    assert "error_surge" in found["change"].to_list()
    assert api_change_rows(found, pl.DataFrame(), "run").height == 0
    alert = pl.DataFrame({"first_seen": [T0 + timedelta(hours=10, minutes=5)],
                          "last_seen": [T0 + timedelta(hours=10, minutes=20)],
                          "endpoints": [[f"GET {KEY['template']}"]]}).with_columns(
        pl.col("first_seen", "last_seen").cast(TIMESTAMP))
    assert explained(alert, found).to_list() == [True]
    elsewhere = alert.with_columns(pl.lit(["GET /v2/cards"]).alias("endpoints"))
    assert explained(elsewhere, found).to_list() == [False]
    later = alert.with_columns(pl.col("first_seen", "last_seen") + timedelta(hours=3))
    assert explained(later, found).to_list() == [False]

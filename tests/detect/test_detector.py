"""Window helpers: the flat distinct count equals the ``drop_nulls`` form it replaces; windows evaluated
in parts equal one rolling pass."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from apisight.detect import detector
from apisight.detect.detector import distinct, sliding


def windows(aggs: list[pl.Expr], seed: int) -> pl.DataFrame:
    """Sliding 10-minute windows over 3,000 rows with null values."""
    rng = random.Random(seed)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rows = pl.DataFrame({
        "ts": sorted(t0 + timedelta(seconds=rng.randint(0, 6000)) for _ in range(3000)),
        "client": [rng.choice("ab") for _ in range(3000)],
        "value": [rng.choice([None, "1", "2", "x", "10", "3"]) for _ in range(3000)],
    })
    return rows.rolling("ts", period="10m", group_by="client", closed="both").agg(aggs)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_distinct_counts_non_null_values_as_drop_nulls_does(seed):
    numbers = pl.col("value").cast(pl.Int64, strict=False)
    old = windows([pl.col("value").drop_nulls().n_unique().alias("a"), numbers.drop_nulls().n_unique().alias("b")], seed)
    new = windows([distinct(pl.col("value")).alias("a"), distinct(numbers).alias("b")], seed)
    assert new.equals(old)


def busy_rows(seed: int) -> pl.DataFrame:
    """4,000 rows of three clients, many sharing a second, some without a client."""
    rng = random.Random(seed)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    return pl.DataFrame({
        "ts": [t0 + timedelta(seconds=rng.randint(0, 3000)) for _ in range(4000)],
        "event_id": [f"e{i}" for i in range(4000)],
        "client": [rng.choice(["a", "b", "b", "c", None]) for _ in range(4000)],
        "value": [rng.choice([None, "1", "2", "x", "10", "3"]) for _ in range(4000)],
        "flag": [rng.random() < 0.3 for _ in range(4000)],
    })


WINDOW_AGGS = [
    pl.col("value").n_unique().alias("values"),
    pl.col("flag").sum().alias("flags"),
    distinct(pl.col("value").cast(pl.Int64, strict=False)).alias("numbers"),
    pl.col("value").unique(maintain_order=True).head(3).alias("first_values"),
    pl.col("value").cast(pl.Int64, strict=False).drop_nulls().unique().sort().diff().drop_nulls().min().alias("step"),
]


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("limit", [1_000, 20_000, 200_000])
def test_windows_evaluated_in_parts_equal_one_rolling_pass(monkeypatch, seed, limit):
    rows = busy_rows(seed)
    whole = sliding(rows, ["client"], 10, WINDOW_AGGS)
    monkeypatch.setattr(detector, "WINDOW_ROWS", limit)
    monkeypatch.setattr(detector, "PART_ROWS", limit)  # 1,000: a part per client
    parts = sliding(rows, ["client"], 10, WINDOW_AGGS)
    assert parts.equals(whole)
    assert whole.height == rows.drop_nulls("client").height


def test_windows_in_parts_keep_the_rolling_order_with_several_keys(monkeypatch):
    rows = busy_rows(3).with_columns(pl.col("flag").cast(pl.String).alias("kind"))
    whole = sliding(rows, ["kind", "client"], 5, WINDOW_AGGS)
    monkeypatch.setattr(detector, "WINDOW_ROWS", 1_000)
    monkeypatch.setattr(detector, "PART_ROWS", 1_000)
    assert sliding(rows, ["kind", "client"], 5, WINDOW_AGGS).equals(whole)


def test_encoded_columns_give_the_windows_plain_strings_give():
    rows = busy_rows(4).with_columns(pl.lit("GET").alias("method"), pl.col("value").alias("template"))
    aggs = [pl.col("value").n_unique().alias("values"),
            pl.col("value").unique(maintain_order=True).head(3).alias("first_values"),
            pl.col("value").drop_nulls().first().alias("first")]
    plain = (rows.drop_nulls("client").sort("ts").rolling("ts", period="10m", group_by="client", closed="both")
             .agg(pl.col("event_id").tail(detector.SAMPLES).alias("sample_event_ids"), *aggs,
                  (pl.col("method") + " " + pl.col("template")).unique(maintain_order=True).head(5).alias("endpoints")))
    encoded = sliding(rows, ["client"], 10, [*aggs, detector.endpoint_list()], encode=["value"])
    assert encoded.schema["first_values"] == pl.List(pl.String) and encoded.schema["first"] == pl.String
    assert encoded.select(plain.columns[:1] + plain.columns[2:]).equals(plain.drop("ts"))

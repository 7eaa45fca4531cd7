from datetime import UTC, date, datetime, timedelta

import polars as pl

from apisight.events import EVENT_SCHEMA, conform
from apisight.store import Catalog, apply_retention, write_events
from apisight.store.events import partitions


def events(days: list[date], host: str = "api.example.com") -> pl.DataFrame:
    rows = [{"event_id": f"e{i}", "ts": datetime(d.year, d.month, d.day, 12, tzinfo=UTC), "host": host, "method": "GET",
             "path": "/x", "status": 200} for i, d in enumerate(days)]
    return conform(pl.DataFrame(rows), EVENT_SCHEMA)


def test_batches_are_partitioned_by_event_date(tmp_path):
    files = write_events(tmp_path, events([date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 1)]), "run1-1")
    assert len(files) == 2
    assert sorted(partitions(tmp_path)) == [date(2025, 1, 1), date(2025, 1, 2)]
    assert pl.read_parquet(partitions(tmp_path)[date(2025, 1, 1)]).height == 2


def test_retention_counts_back_from_the_newest_event_not_the_clock(tmp_path):
    newest = date(2024, 3, 31)  # long ago: wall-clock retention would delete everything
    days = [newest - timedelta(days=n) for n in (0, 1, 29, 30, 45)]
    write_events(tmp_path, events(days), "r-1")
    removed = apply_retention(tmp_path, 30)
    assert removed == [newest - timedelta(days=45), newest - timedelta(days=30)]
    assert sorted(partitions(tmp_path)) == sorted(days[:3])


def test_a_second_run_appends_and_the_view_sees_both(tmp_path):
    write_events(tmp_path, events([date(2025, 1, 1)] * 3, host="a.example"), "r1-1")
    write_events(tmp_path, events([date(2025, 1, 1)] * 2, host="b.example"), "r2-1")
    with Catalog(tmp_path) as c:
        rows = c.query("SELECT host, count(*) FROM events GROUP BY host ORDER BY host").rows
    assert rows == [("a.example", 3), ("b.example", 2)]


def test_events_view_exists_and_is_empty_before_any_data(tmp_path):
    with Catalog(tmp_path) as c:
        result = c.query("SELECT count(*), count(DISTINCT principal) FROM events")
    assert result.rows == [(0, 0)]


def test_a_future_clock_cannot_wipe_history(tmp_path):
    today = date(2026, 11, 28)
    write_events(tmp_path, events([today, today - timedelta(days=3), date(2031, 1, 1)]), "r-1")
    assert apply_retention(tmp_path, 30, today=today) == []
    assert len(partitions(tmp_path)) == 3


def test_files_appear_only_when_complete(tmp_path):
    files = write_events(tmp_path, events([date(2025, 1, 1)]), "r-1")
    assert [f.name for f in files] == ["part-r-1.parquet"]
    assert not list(tmp_path.rglob("*.tmp"))

from datetime import UTC, date, datetime, timedelta

import polars as pl

from apisight.events import EVENT_SCHEMA, conform
from apisight.store import Catalog, apply_retention, manifest, write_events


def events(days: list[date], host: str = "api.example.com") -> pl.DataFrame:
    rows = [{"event_id": f"e{i}", "ts": datetime(d.year, d.month, d.day, 12, tzinfo=UTC), "host": host, "method": "GET",
             "path": "/x", "status": 200} for i, d in enumerate(days)]
    return conform(pl.DataFrame(rows), EVENT_SCHEMA)


def stored(tmp_path, frame: pl.DataFrame, batch: str) -> None:
    with Catalog(tmp_path) as c:
        c.add_files("events", write_events(tmp_path, frame, batch), batch)


def test_batches_are_partitioned_by_event_date(tmp_path):
    files = write_events(tmp_path, events([date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 1)]), "run1-1")
    assert len(files) == 2
    on_disk = manifest.on_disk(tmp_path, "events")
    assert sorted(on_disk.values()) == [date(2025, 1, 1), date(2025, 1, 2)]
    first = next(f for f, d in on_disk.items() if d == date(2025, 1, 1))
    assert pl.read_parquet(tmp_path / "events" / first).height == 2


def test_retention_counts_back_from_the_newest_event_not_the_clock(tmp_path):
    newest = date(2024, 3, 31)  # long ago: wall-clock retention would delete everything
    days = [newest - timedelta(days=n) for n in (0, 1, 29, 30, 45)]
    stored(tmp_path, events(days), "r-1")
    with Catalog(tmp_path) as c:
        removed = apply_retention(c, 30)
        assert removed == [newest - timedelta(days=45), newest - timedelta(days=30)]
        assert manifest.stored_days(c.db) == sorted(days[:3])
    with Catalog(tmp_path) as c:
        assert c.query("SELECT count(*) FROM events").rows == [(3,)]
        # the files of the days taken out stay on disk until a committed run deletes them
        assert len(manifest.unlisted(c.db, tmp_path)) == 2


def test_files_on_disk_that_no_catalog_lists_are_not_read(tmp_path):
    stored(tmp_path, events([date(2025, 1, 1)] * 3, host="a.example"), "r1-1")
    write_events(tmp_path, events([date(2025, 1, 1)] * 2, host="b.example"), "r2-1")  # an interrupted run's
    with Catalog(tmp_path) as c:
        assert c.query("SELECT host, count(*) FROM events GROUP BY host ORDER BY host").rows == [("a.example", 3)]
        c.add_files("events", [p for p in c.data_dir.rglob("part-r2-1.parquet")], "r2")
        rows = c.query("SELECT host, count(*) FROM events GROUP BY host ORDER BY host").rows
    assert rows == [("a.example", 3), ("b.example", 2)]


def test_a_catalog_made_before_the_list_adopts_the_files_on_disk(tmp_path):
    write_events(tmp_path, events([date(2025, 1, 1)] * 3), "old-1")
    with Catalog(tmp_path) as c:
        assert c.query("SELECT count(*) FROM events").rows == [(3,)]
        assert len(c.event_files()) == 1


def test_events_view_exists_and_is_empty_before_any_data(tmp_path):
    with Catalog(tmp_path) as c:
        result = c.query("SELECT count(*), count(DISTINCT principal) FROM events")
    assert result.rows == [(0, 0)]


def test_a_future_clock_cannot_wipe_history(tmp_path):
    today = date(2026, 11, 28)
    stored(tmp_path, events([today, today - timedelta(days=3), date(2031, 1, 1)]), "r-1")
    with Catalog(tmp_path) as c:
        assert apply_retention(c, 30, today=today) == []
        assert len(manifest.stored_days(c.db)) == 3


def test_files_appear_only_when_complete(tmp_path):
    files = write_events(tmp_path, events([date(2025, 1, 1)]), "r-1")
    assert [f.name for f in files] == ["part-r-1.parquet"]
    assert not list(tmp_path.rglob("*.tmp"))

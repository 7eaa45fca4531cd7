"""Stored events read back in time slices: bounded, whole seconds, every event once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from apisight.detect.slices import by_day, plan, read
from apisight.events import EVENT_SCHEMA, conform

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def write(path, seconds: list[float], tag: str, drop: tuple[str, ...] = ()) -> None:
    """Events at ``T0 + seconds`` (in that order) as an event file; ``drop``: columns an older apisight lacked."""
    frame = pl.DataFrame({"ts": [T0 + timedelta(seconds=s) for s in seconds],
                          "event_id": [f"{tag}-{i}" for i in range(len(seconds))],
                          "source_file": tag, "path": "/v1/items", "method": "GET", "status": 200})
    path.parent.mkdir(parents=True, exist_ok=True)
    conform(frame, EVENT_SCHEMA).drop(drop).write_parquet(path)


@pytest.mark.parametrize("rows", [1, 3, 10, 1000])
def test_slices_hold_every_event_once_in_whole_seconds(tmp_path, rows):
    # two overlapping files (two servers' logs), one out of order, and a busy second (t=5.x)
    a = tmp_path / "date=2026-03-02" / "part-a.parquet"
    b = tmp_path / "date=2026-03-02" / "part-b.parquet"
    write(a, [0, 1, 5.1, 5.2, 5.3, 5.4, 9, 20], "a")
    write(b, [30, 2, 5.5, 5.6, 12], "b")
    parts = plan([a, b], rows)
    got = [read(p) for p in parts]
    assert sorted(pl.concat(got)["event_id"].to_list()) == sorted([f"a-{i}" for i in range(8)]
                                                                   + [f"b-{i}" for i in range(5)])
    for part, frame in zip(parts, got, strict=True):
        assert frame.height == part.events
        assert part.events <= rows or frame["ts"].dt.truncate("1s").n_unique() == 1  # only one busy second exceeds
        assert (part.start.microsecond, part.end.microsecond) == (0, 0)
    assert [p.start for p in parts] == sorted(p.start for p in parts)


def test_a_slice_reads_only_the_files_its_time_meets(tmp_path):
    early = tmp_path / "date=2026-03-02" / "part-1.parquet"
    late = tmp_path / "date=2026-03-02" / "part-2.parquet"
    write(early, [0, 1, 2], "early")
    write(late, [3600, 3601, 3602], "late")
    first, second = plan([early, late], 3)
    assert [f.path for f in first.files] == [early] and [f.path for f in second.files] == [late]


def test_older_files_lacking_columns_read_as_nulls(tmp_path):
    f = tmp_path / "date=2026-03-02" / "part-old.parquet"
    write(f, [0, 1], "old", drop=("login_fp", "session_fp"))
    (part,) = plan([f], 10)
    frame = read(part)
    assert frame.height == 2 and frame["login_fp"].null_count() == 2 and frame["session_fp"].dtype == pl.String


def test_events_without_a_time_and_empty_days_make_no_slice(tmp_path):
    f = tmp_path / "date=undated" / "part-x.parquet"
    f.parent.mkdir(parents=True)
    conform(pl.DataFrame({"event_id": ["x"]}), EVENT_SCHEMA).write_parquet(f)
    assert plan([f], 10) == []


def test_files_are_grouped_by_day_oldest_first(tmp_path):
    files = [tmp_path / "date=2026-03-03" / "a.parquet", tmp_path / "date=2026-03-02" / "b.parquet",
             tmp_path / "date=2026-03-03" / "c.parquet"]
    assert by_day(files) == [[files[1]], [files[0], files[2]]]

"""Stored events read back for detection, one time slice at a time.

A day partition may hold any number of events; detection holds one slice of them at
a time, so its memory does not grow with a day's volume. A first pass reads only the
timestamps, file by file, and counts the day's events per second (at most 86,400
counts, whatever the volume) and each file's first and last time. The slices are
consecutive runs of whole seconds holding at most ``rows`` events each (a single second
busier than that is a slice of its own). A slice is then read from the files whose time
span meets it, filtered on time (Parquet statistics skip what is outside) and with only
the columns detection reads. Equal timestamps always fall in one slice, so the copies of
a record (which share its time) meet in one batch.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from apisight.detect.features import EVENT_COLUMNS
from apisight.events import EVENT_SCHEMA, conform

_SECOND = timedelta(seconds=1)
#: Per-second counts gathered before they are summed up (bounds the planning pass).
_FOLD = 500_000


@dataclass(frozen=True)
class StoredFile:
    """One event file of a day: its time span and the detection columns it has."""

    path: Path
    first: datetime
    last: datetime
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Slice:
    """Events of ``files`` timed in ``[start, end)``: ``events`` of them."""

    start: datetime
    end: datetime
    events: int
    files: tuple[StoredFile, ...]


def by_day(files: list[Path]) -> list[list[Path]]:
    """Event files grouped by their day partition (``date=YYYY-MM-DD``), oldest day first."""
    days: dict[str, list[Path]] = {}
    for f in files:
        days.setdefault(f.parent.name, []).append(f)
    return [days[d] for d in sorted(days)]


def plan(files: list[Path], rows: int) -> list[Slice]:
    """The time slices of the events in ``files`` (one day), oldest first, each of at most
    ``rows`` events unless one second holds more. Events without a time are in none."""
    stored: list[StoredFile] = []
    counts: list[pl.DataFrame] = []
    for path in files:
        ts = pl.read_parquet(path, columns=["ts"])["ts"].drop_nulls()
        if ts.len() == 0:
            continue
        present = set(pl.read_parquet_schema(path))
        columns = tuple(c for c in EVENT_COLUMNS if c in present)
        stored.append(StoredFile(path, ts.min(), ts.max(), columns))  # type: ignore[arg-type]
        counts.append(ts.dt.truncate("1s").value_counts(name="count").cast({"count": pl.Int64()}))
        if sum(c.height for c in counts) > _FOLD:
            counts = [_per_second(counts)]
    if not counts:
        return []
    per_second = _per_second(counts)
    seconds, total = per_second["ts"], per_second["count"].cum_sum().to_list()
    out, first = [], 0
    while first < len(total):
        before = total[first - 1] if first else 0
        # the last second that keeps the slice within ``rows`` (at least the first one)
        last = max(first, bisect_right(total, before + rows) - 1)
        start: datetime = seconds[first]
        end: datetime = seconds[last + 1] if last + 1 < len(total) else seconds[last] + _SECOND
        out.append(Slice(start, end, total[last] - before,
                         tuple(f for f in stored if f.first < end and f.last >= start)))
        first = last + 1
    return out


def _per_second(counts: list[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat(counts).group_by("ts").agg(pl.col("count").sum()).sort("ts")


def read(part: Slice) -> pl.DataFrame:
    """The detection columns of the events in ``part``, in file order.

    Files written by an older apisight may lack newer columns (``login_fp``,
    ``session_fp``...): those come back as nulls, so history stays replayable.
    """
    schema = {c: EVENT_SCHEMA[c] for c in EVENT_COLUMNS}
    within = (pl.col("ts") >= part.start) & (pl.col("ts") < part.end)
    frames = [conform(pl.scan_parquet(f.path).select(f.columns).filter(within).collect(), schema)
              for f in part.files]
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)

"""A record is stored once however often it is read; genuine repeats in one file stay."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from apisight.config import Settings
from apisight.pipeline import RunRequest, analyze
from apisight.store import Catalog

T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)


def line(i: int, *, ip: str = "198.51.100.7", path: str | None = None, second: int | None = None) -> str:
    ts = (T0 + timedelta(seconds=i if second is None else second)).strftime("%d/%b/%Y:%H:%M:%S +0000")
    target = path or f"/v1/accounts/{1000 + i}?email=user{i}%40mail.example"
    return f'{ip} - - [{ts}] "GET {target} HTTP/1.1" 200 {100 + i} "-" "app/1.0"'


def write(path: Path, lines: list[str], mtime: float | None = None) -> str:
    path.write_text("".join(x + "\n" for x in lines))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return str(path)


def run(data: Path, *files: str, settings: Settings | None = None) -> dict:
    return analyze(RunRequest(list(files), data, settings or Settings(), format="nginx"))


def counts(data: Path) -> tuple[int, int, int]:
    """Events, sensitive findings, and the inventory's request total."""
    with Catalog(data, read_only=True) as c:
        events = c.query("SELECT count(*) FROM events").rows[0][0]
        found = c.query("SELECT count(*) FROM sensitive").rows[0][0]
        requests = c.query("SELECT coalesce(sum(count), 0) FROM endpoints").rows[0][0]
    return events, found, requests


def test_a_file_read_again_is_recognised_and_skipped(tmp_path):
    f = write(tmp_path / "access.log", [line(i) for i in range(40)])
    first = run(tmp_path / "d", f)
    again = run(tmp_path / "d", f)
    assert (first["stored"], first["duplicates"]) == (40, 0)
    assert [k["file"] for k in again["already_read"]] == [f] and again["already_read"][0]["run_id"] == first["run_id"]
    assert again["records"] == 0
    assert counts(tmp_path / "d") == (40, 40, 40)


def test_a_copy_of_a_stored_file_adds_nothing_and_says_how_many_were_left_out(tmp_path):
    lines = [line(i) for i in range(40)]
    a = write(tmp_path / "a.log", lines)
    b = write(tmp_path / "b.log", lines[::-1], mtime=1e9)  # other name, order and time: not recognised
    run(tmp_path / "d", a)
    again = run(tmp_path / "d", b)
    assert (again["records"], again["stored"], again["duplicates"]) == (40, 0, 40)
    assert again["files"][0]["duplicates"] == 40
    assert counts(tmp_path / "d") == (40, 40, 40)


def test_overlapping_rotations_read_together_or_apart_store_the_union(tmp_path):
    lines = [line(i) for i in range(100)]
    older = write(tmp_path / "access.log.1", lines[:60])
    newer = write(tmp_path / "access.log", lines[40:])
    together = run(tmp_path / "together", older, newer)
    run(tmp_path / "apart", newer)
    apart = run(tmp_path / "apart", older)
    assert together["duplicates"] == 20 and apart["duplicates"] == 20
    assert counts(tmp_path / "together") == counts(tmp_path / "apart") == (100, 100, 100)


def test_a_file_that_grew_adds_only_its_new_lines(tmp_path):
    lines = [line(i) for i in range(50)]
    log = tmp_path / "access.log"
    run(tmp_path / "d", write(log, lines[:30]))
    grown = run(tmp_path / "d", write(log, lines))
    assert (grown["records"], grown["stored"], grown["duplicates"]) == (50, 20, 30)
    assert counts(tmp_path / "d") == (50, 50, 50)


@pytest.mark.parametrize(("in_a", "in_b", "stored"), [
    (3, 0, 3),  # identical lines in one file are as many requests (no sub-second times)
    (3, 1, 3),  # another file with fewer copies adds none
    (3, 5, 5),  # one with more copies brings the count up to its own
    (2, 2, 2),
])
def test_genuine_repeats_are_kept_as_often_as_one_file_holds_them(tmp_path, in_a, in_b, stored):
    same = line(0, path="/v1/ping", second=5)
    other = [line(i) for i in range(1, 4)]
    a = write(tmp_path / "a.log", [same] * in_a + other)
    b = write(tmp_path / "b.log", [same] * in_b + other[:1])
    for order in ((a, b), (b, a)):
        data = tmp_path / f"d-{order[0][-5:]}"
        for f in order:
            run(data, f)
        with Catalog(data, read_only=True) as c:
            assert c.query("SELECT count(*) FROM events WHERE path = '/v1/ping'").rows == [(stored,)]
            assert c.query("SELECT count(*) FROM events").rows == [(stored + 3,)]


def test_the_same_request_id_with_fields_in_another_order_is_one_record_but_not_across_requests(tmp_path):
    def record(rid: str, path: str, reverse: bool = False) -> str:
        fields = [("time", "2026-11-20T09:00:00Z"), ("request_id", rid), ("method", "GET"), ("path", path),
                  ("status", 200), ("client_ip", "203.0.113.5")]
        return orjson.dumps(dict(fields[::-1] if reverse else fields)).decode()

    a = write(tmp_path / "a.jsonl", [record("r-1", "/v1/a"), record("r-2", "/v1/b")])
    # re-exported: same requests with the keys reordered, and a client repeating an id on another path
    b = write(tmp_path / "b.jsonl", [record("r-1", "/v1/a", reverse=True), record("r-2", "/v1/c")])
    run_json = analyze(RunRequest([a, b], tmp_path / "d", Settings(), format="jsonl"))
    assert run_json["duplicates"] == 1
    with Catalog(tmp_path / "d", read_only=True) as c:
        assert c.query("SELECT request_id, path FROM events ORDER BY 1, 2").rows == [
            ("r-1", "/v1/a"), ("r-2", "/v1/b"), ("r-2", "/v1/c")]


def test_stored_record_hashes_depend_on_the_installation_key(tmp_path, monkeypatch):
    f = write(tmp_path / "a.log", [line(0)])
    hashes = []
    for key in ("k" * 32, "q" * 32):
        monkeypatch.setenv("APISIGHT_FINGERPRINT_KEY", key)
        run(tmp_path / key[0], f)
        with Catalog(tmp_path / key[0], read_only=True) as c:
            hashes.append(c.query("SELECT record_hash FROM events").rows[0][0])
    assert hashes[0] != hashes[1] and None not in hashes


def test_a_day_holding_only_files_from_before_record_hashes_is_read_into(tmp_path):
    import polars as pl

    from apisight.events import EVENT_SCHEMA, conform
    from apisight.store import write_events

    data = tmp_path / "d"
    old = conform(pl.DataFrame({"event_id": ["old-1"], "ts": [T0], "method": ["GET"], "path": ["/v1/old"],
                                "status": [200]}), EVENT_SCHEMA).drop("record_hash")
    write_events(data, old, "old-1")  # as an earlier version wrote it: no record_hash column
    summary = run(data, write(tmp_path / "a.log", [line(i) for i in range(5)]))
    assert summary["stored"] == 5 and counts(data)[0] == 6


def test_a_file_cut_short_is_read_again_not_skipped(tmp_path):
    import gzip

    data = gzip.compress("".join(line(i) + "\n" for i in range(200)).encode())
    cut = tmp_path / "access.log.gz"
    cut.write_bytes(data[: len(data) // 2])  # a truncated rotation
    first = run(tmp_path / "d", str(cut))
    assert any("unreadable" in e["reason"] for e in first["malformed"]["examples"])
    again = run(tmp_path / "d", str(cut))
    assert again["already_read"] == [] and again["records"] == first["records"]
    assert again["stored"] == 0  # read again, and its records are known

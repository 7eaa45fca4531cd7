"""One writer at a time; readers see the last committed run, whole; an interrupted run is rolled back."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from apisight.config import Settings
from apisight.errors import StoreError
from apisight.pipeline import RunRequest, analyze
from apisight.readers.base import ReaderOptions
from apisight.store import Catalog
from apisight.store.writer import WORK, Writer

T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)


def log(path: Path, n: int, start: int = 0) -> str:
    path.write_text("".join(
        f'198.51.100.{i % 7} - - [{(T0 + timedelta(seconds=i)).strftime("%d/%b/%Y:%H:%M:%S +0000")}] '
        f'"GET /v1/accounts/{i} HTTP/1.1" 200 {i} "-" "app/1.0"\n' for i in range(start, start + n)))
    return str(path)


def run(data: Path, *files: str, **kwargs) -> dict:
    return analyze(RunRequest(list(files), data, Settings(), format="nginx", **kwargs))


def events(data: Path) -> int:
    with Catalog(data, read_only=True) as c:
        return c.query("SELECT count(*) FROM events").rows[0][0]


def test_a_second_writer_is_refused_with_a_message_naming_the_first(tmp_path):
    with Writer(tmp_path, "analyze"), pytest.raises(StoreError) as refused:
        Writer(tmp_path, "detect --replay").__enter__()
    message = str(refused.value)
    assert "`apisight analyze`" in message and "pid" in message and "--wait" in message
    with Writer(tmp_path, "detect --replay") as tx:  # the first one is gone: free again
        assert tx.work_dir.is_dir()


def test_a_second_writer_with_wait_runs_once_the_first_is_done(tmp_path):
    first = Writer(tmp_path, "analyze").__enter__()
    threading.Timer(0.5, lambda: first.__exit__(None, None, None)).start()
    started = time.monotonic()
    with Writer(tmp_path, "analyze", wait_seconds=10):
        waited = time.monotonic() - started
    assert 0.4 < waited < 10


def test_readers_see_the_last_committed_run_until_the_next_one_commits(tmp_path):
    data = tmp_path / "d"
    run(data, log(tmp_path / "a.log", 30))
    seen = []
    # small chunks: many batches, each reported while the run is still going
    request = RunRequest([log(tmp_path / "b.log", 3000, start=100)], data, Settings(), format="nginx",
                         options=ReaderOptions(chunk_bytes=16 * 1024))
    analyze(request, on_progress=lambda p: seen.append((p.records, events(data))))
    assert len(seen) > 5 and seen[-1][0] == 3000
    assert {during for _, during in seen} == {30}  # never a part of the run
    assert events(data) == 3030


def test_a_failing_run_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    data = tmp_path / "d"
    run(data, log(tmp_path / "a.log", 30))
    before = sorted(p.relative_to(data) for p in data.rglob("*") if WORK not in p.parts and p.name != ".lock")
    from apisight import pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pipeline, "update_inventory", broken)
    with pytest.raises(RuntimeError):
        run(data, log(tmp_path / "b.log", 50, start=100))
    after = sorted(p.relative_to(data) for p in data.rglob("*") if WORK not in p.parts and p.name != ".lock")
    assert after == before and events(data) == 30
    monkeypatch.undo()
    again = run(data, str(tmp_path / "b.log"))
    assert again["recovered"] == [] and again["stored"] == 50 and events(data) == 80


def test_a_killed_run_is_found_rolled_back_and_named_by_the_next(tmp_path):
    data = tmp_path / "d"
    run(data, log(tmp_path / "a.log", 30))
    tx = Writer(data, "analyze").__enter__()  # a run that dies without a word: no exit, no commit
    (data / "events" / "date=2026-11-20" / f"part-{tx.run_id}-1.parquet").write_bytes(b"PAR1 half a file")
    (data / "quarantine").mkdir()
    (data / "quarantine" / f"{tx.run_id}.jsonl").write_text("{}\n")
    tx._release()  # the process is gone, and with it its lock
    summary = run(data, log(tmp_path / "b.log", 20, start=100))
    (found,) = summary["recovered"]
    assert found["run_id"] == tx.run_id and found["action"] == "rolled back" and found["files_removed"] == 1
    assert found["command"] == "analyze" and found["pid"] > 0
    assert not (data / "quarantine" / f"{tx.run_id}.jsonl").exists()
    assert events(data) == 50 and not list((data / WORK).iterdir())


def test_a_run_killed_after_its_commit_is_kept_and_its_clean_up_finished(tmp_path):
    data = tmp_path / "d"
    run(data, log(tmp_path / "a.log", 30))
    leftover = data / WORK / "20261120T090000-abcdef"
    leftover.mkdir(parents=True)  # the rename happened (no working catalog left), the clean-up did not
    (leftover / "journal.json").write_text(json.dumps({"run_id": leftover.name, "command": "analyze", "pid": 1}))
    summary = run(data, log(tmp_path / "b.log", 5, start=100))
    assert summary["recovered"][0]["action"].startswith("committed") and not leftover.exists()
    assert events(data) == 35


def test_retention_deletes_old_days_only_once_the_run_is_committed(tmp_path, monkeypatch):
    data = tmp_path / "d"
    old = tmp_path / "old.log"
    old.write_text('198.51.100.1 - - [01/Oct/2026:09:00:00 +0000] "GET /v1/x HTTP/1.1" 200 5 "-" "app"\n')
    run(data, str(old))
    files = list((data / "events").rglob("*.parquet"))
    summary = run(data, log(tmp_path / "new.log", 10))  # seven weeks later: October leaves the window
    assert summary["retention"]["removed_days"] == ["2026-10-01"]
    assert not any(f.exists() for f in files) and events(data) == 10


def test_the_data_directory_is_private_whatever_the_umask(tmp_path):
    data = tmp_path / "d"
    data.mkdir(mode=0o755)
    (data / "events").mkdir(mode=0o755)
    (data / "events" / "stray.txt").write_text("from an older version")
    old = os.umask(0o022)
    try:
        run(data, log(tmp_path / "a.log", 10))
    finally:
        os.umask(old)
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in [data, *data.rglob("*")]}
    assert len(modes) > 10
    exposed = {str(p.relative_to(tmp_path)): oct(m) for p, m in modes.items() if m & 0o077}
    assert not exposed
    assert os.umask(0o022) == 0o022  # the process's own umask is given back


def test_a_commit_killed_after_moving_the_log_aside_puts_it_back(tmp_path):
    from apisight.store.writer import COMMITTED_WAL, recover

    data = tmp_path / "d"
    run(data, log(tmp_path / "a.log", 10))
    folder = data / WORK / "20261120T090000-abcdef"
    folder.mkdir(parents=True)
    (folder / "catalog.duckdb").write_bytes(b"working copy, never renamed")
    (folder / COMMITTED_WAL).write_bytes(b"the committed catalog's log")
    (found,) = recover(data)
    assert found["action"] == "rolled back"
    assert (data / "catalog.duckdb.wal").read_bytes() == b"the committed catalog's log"
    assert not folder.exists()


def test_the_first_run_on_a_catalog_from_before_the_file_list_is_not_seen_half_way(tmp_path):
    data = tmp_path / "d"
    run(data, log(tmp_path / "a.log", 30))
    with Catalog(data) as c:  # as an older version left it: files found by listing the folder
        c.db.execute("DROP TABLE stored_files")
    request = RunRequest([log(tmp_path / "b.log", 3000, start=100)], data, Settings(), format="nginx",
                         options=ReaderOptions(chunk_bytes=16 * 1024))
    seen = []
    analyze(request, on_progress=lambda p: seen.append(events(data)))
    assert len(seen) > 5 and set(seen) == {30}
    assert events(data) == 3030

"""Any sequence of runs over overlapping files, some killed with SIGKILL at random points,
ends with exactly the tables one clean run over the files that were read gives.

Each trial runs ``analyze`` in child processes (forked from a server that has imported
apisight once, so a child starts in milliseconds), kills some of them after a random
delay, and compares events row for row, sensitive findings, inventory counts and alerts
with one uninterrupted run over the union of the files of the runs that committed.
``bench/idempotence.py`` runs more trials.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from apisight.config import Settings
from apisight.fingerprints import KEY_ENV
from apisight.store import Catalog
from tests.detect.test_engine import login

T0 = datetime(2026, 11, 27, 23, 50, tzinfo=UTC)  # ten minutes before midnight: two days of partitions
ATTACKER = "198.51.100.9"
TRIALS = 50
KEY = "idempotence-trials-" + "k" * 16
#: Columns that name the run or the input file a copy came from, not the record.
PROVENANCE = {"event_id", "source_file"}


def universe(folder: Path) -> list[Path]:
    """Four overlapping files (rotations, a re-export, a partial copy) over two days, with a
    credential-stuffing burst and records repeated inside one file."""
    benign = [login(T0 + timedelta(seconds=20 * i), f"203.0.113.{i % 50 + 1}", f"customer{i}@example.com", 200)
              for i in range(60)]
    burst = [login(T0 + timedelta(minutes=8, seconds=10 * i), ATTACKER, f"leaked{i}@mail.example", 401)
             for i in range(45)]
    lines = sorted(benign + burst, key=lambda x: orjson.loads(x)["startedDateTime"])
    repeat = lines[40]
    parts = {
        "access.log.2": lines[:45],
        "access.log.1": lines[30:80] + [repeat, repeat],  # a record three times in one file
        "access.log": lines[70:],
        "export.harl": lines[::-1][:30] + [repeat],
    }
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name, content in parts.items():
        path = folder / name
        path.write_text("\n".join(content) + "\n")
        files.append(path)
    return files


def settings() -> Settings:
    return Settings.model_validate({"posture": {"enabled": False}, "detect": {"lateness_minutes": 600}})


def analyze_files(files: list[str], data: str) -> None:
    from apisight.pipeline import RunRequest, analyze

    os.environ[KEY_ENV] = KEY  # every data directory under one key: fingerprints comparable
    analyze(RunRequest(files, Path(data), settings(), format="harl"))


def tables(data: Path) -> dict[str, object]:
    """What a user reads: events and findings row for row (less where a copy came from),
    inventory counts, alerts."""
    with Catalog(data, read_only=True) as c:
        def rows(sql: str) -> list[tuple]:
            return sorted(map(tuple, c.query(sql).rows), key=repr)

        columns = [name for name in c.query("SELECT * FROM events LIMIT 0").columns if name not in PROVENANCE]
        found = [name for name in c.query("SELECT * FROM sensitive LIMIT 0").columns if name not in PROVENANCE]
        return {
            "events": rows(f"SELECT {', '.join(columns)} FROM events"),
            "sensitive": rows(f"SELECT {', '.join(found)} FROM sensitive"),
            "endpoints": rows("SELECT host, method, path, count, clients FROM endpoints"),
            "alerts": rows("SELECT detector, entity_kind, entity, first_seen, last_seen FROM alerts"),
        }


def committed_runs(data: Path) -> int:
    if not (data / "catalog.duckdb").exists():
        return 0
    with Catalog(data, read_only=True) as c:
        return c.query("SELECT count(*) FROM runs").rows[0][0]


def trial(seed: int, folder: Path, files: list[Path], reference: dict, context) -> dict[str, int]:
    """One randomised sequence of runs; returns what happened (for the benchmark's tally)."""
    rng = random.Random(seed)
    data = folder / f"trial-{seed}"
    read: set[str] = set()
    tally = {"runs": 0, "killed": 0, "killed_before_commit": 0}
    for step in range(rng.randint(2, 4)):
        chosen = sorted(str(f) for f in rng.sample(files, rng.randint(1, len(files))))
        last = step > 0 and rng.random() < 0.3
        before = committed_runs(data)
        child = context.Process(target=analyze_files, args=(chosen, str(data)))
        child.start()
        if not last and rng.random() < 0.6:
            time.sleep(rng.uniform(0.0, 1.2))
            child.kill()
            tally["killed"] += 1
        child.join()
        tally["runs"] += 1
        if committed_runs(data) > before:
            read.update(chosen)
        elif child.exitcode == 0:
            raise AssertionError(f"trial {seed}: a run that finished committed nothing")
        else:
            tally["killed_before_commit"] += 1
        if last:
            break
    final = sorted(str(f) for f in rng.sample(files, rng.randint(1, len(files))))
    child = context.Process(target=analyze_files, args=(final, str(data)))
    child.start()
    child.join()
    assert child.exitcode == 0, f"trial {seed}: the run after the kills failed"
    read.update(final)
    key = tuple(sorted(read))
    if key not in reference:
        clean = folder / f"clean-{seed}"
        child = context.Process(target=analyze_files, args=(list(key), str(clean)))
        child.start()
        child.join()
        reference[key] = tables(clean)
    got = tables(data)
    for table, expected in reference[key].items():
        assert got[table] == expected, f"trial {seed}: {table} differ from one clean run over {len(key)} file(s)"
    assert not list(data.glob(".work/*")), f"trial {seed}: a working copy was left behind"
    return tally


@pytest.fixture(scope="module")
def forking():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["apisight.pipeline", __name__])
    return context


def test_runs_killed_at_random_points_leave_exactly_what_one_clean_run_gives(tmp_path, forking, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    files = universe(tmp_path / "input")
    reference: dict = {}
    tally = {"runs": 0, "killed": 0, "killed_before_commit": 0}
    with ThreadPoolExecutor(max_workers=2) as pool:  # two trials at a time: the test mostly waits
        for outcome in pool.map(lambda seed: trial(seed, tmp_path, files, reference, forking), range(TRIALS)):
            for k, v in outcome.items():
                tally[k] += v
    # the trials must really have cut runs short, and compared tables that hold an attack
    assert tally["killed_before_commit"] >= TRIALS // 2
    assert any(a[0] == "credential_stuffing" for r in reference.values() for a in r["alerts"])

"""Idempotence under kill -9: many randomised trials of the suite's property test.

    python bench/idempotence.py                 # 200 trials
    python bench/idempotence.py --trials 1000 --json

Each trial runs `analyze` two to five times over random subsets of four overlapping HAR-lines
files (rotations, a re-export, a record repeated in one file), kills some runs with SIGKILL
after a random delay, and checks that events (row for row), sensitive findings, inventory
counts and alerts equal one clean run over the files of the runs that committed. Prints
how many runs were killed before their commit and the trials per second.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "out"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1000, help="first trial's seed (the suite uses 0-49)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.store import test_idempotence as harness

    os.environ[harness.KEY_ENV] = harness.KEY
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["apisight.pipeline", harness.__name__])
    folder = Path(tempfile.mkdtemp(prefix="apisight-idempotence-"))
    files = harness.universe(folder / "input")
    reference: dict = {}
    tally = {"trials": 0, "runs": 0, "killed": 0, "killed_before_commit": 0, "failures": 0}
    failures: list[str] = []
    started = time.perf_counter()

    def one(seed: int) -> dict[str, int]:
        try:
            return harness.trial(seed, folder, files, reference, context)
        except AssertionError as e:
            failures.append(str(e).splitlines()[0])
            return {"failures": 1}

    with ThreadPoolExecutor(max_workers=2) as pool:
        for outcome in pool.map(one, range(args.seed, args.seed + args.trials)):
            tally["trials"] += 1
            for k, v in outcome.items():
                tally[k] += v
    seconds = time.perf_counter() - started
    result = {**tally, "seconds": round(seconds, 1), "trials_per_s": round(tally["trials"] / seconds, 2),
              "distinct_unions": len(reference), "first_failures": failures[:5]}
    OUT.mkdir(exist_ok=True)
    (OUT / "idempotence.json").write_text(json.dumps(result, indent=2))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        table = Table("trials", "runs", "killed", "killed before commit", "failures", "seconds",
                      title="Idempotence under kill -9")
        table.add_row(*(f"{result[k]:,}" for k in ("trials", "runs", "killed", "killed_before_commit", "failures")),
                      str(result["seconds"]))
        Console().print(table)
        for f in failures[:5]:
            Console().print(f"[red]{f}[/]")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

"""Detection stage speed on one core, and state size per active entity.

    python bench/detect_speed.py                    # 1,000,000 mixed-host nginx records
    python bench/detect_speed.py --records 200000 --format harl --json

The records come from the demo generator's benchmark writer (``generate_bench``:
seeded baseline traffic of all three hosts over three days) and are analysed once with
detection off, into a cached data directory under ``bench/out``. The measured part is
``run_detection(..., replay=True)`` over every stored event — read back from Parquet one
time slice of at most ``BATCH_ROWS`` events at a time, detection frame built (templates,
roles, geo), all enabled detectors over each slice, alerts and state saved — in a fresh
process pinned to one CPU with Polars on one thread. Printed: events/s, wall seconds,
the slice size, peak RSS of that process, and the saved state's bytes per active entity.
Saved to ``bench/out/detect_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

OUT = Path(__file__).resolve().parent / "out"

MEASURED = """
import json, os, resource, sys, time
from pathlib import Path
from apisight.config import Settings
from apisight.detect.engine import BATCH_ROWS, run_detection
from apisight.store import Catalog
root = Path(sys.argv[1])
with Catalog(root) as catalog:
    files = catalog.event_files()
    started = time.perf_counter()
    summary = run_detection(catalog, files, Settings(), "bench", replay=True)
    seconds = time.perf_counter() - started
summary["wall_seconds"] = seconds
summary["batch_rows"] = BATCH_ROWS
summary["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(summary))
"""


def prepare(records: int, fmt: str, console: Console) -> Path:
    """A data directory holding ``records`` analysed events (built once, then reused)."""
    from apisight.config import Settings
    from apisight.demo import generate_bench
    from apisight.pipeline import RunRequest, analyze

    root = OUT / f"detect-{fmt}-{records}"
    if (root / "ready").exists():
        return root
    source = OUT / f"detect-{fmt}-{records}.log"
    console.print(f"generating {records:,} {fmt} records and analysing them once (detection off) ...")
    generate_bench(source, records=records, format=fmt)
    settings = Settings.model_validate({"detect": {"enabled": False}, "posture": {"enabled": False}})
    analyze(RunRequest([str(source)], root, settings))
    source.unlink()
    (root / "ready").write_text("")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--format", default="nginx", choices=["nginx", "harl", "envoy", "kong", "alb"])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    console = Console(stderr=True)
    root = prepare(args.records, args.format, console)
    env = {**os.environ, "POLARS_MAX_THREADS": "1"}
    command = [sys.executable, "-c", MEASURED, str(root)]
    if sys.platform.startswith("linux"):
        command = ["taskset", "-c", "0", *command]
    started = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise SystemExit(f"detection failed: {out.stderr[-2000:]}")
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    result = {
        "records": args.records, "format": args.format, "events": summary["events"],
        "seconds": round(summary["wall_seconds"], 2),
        "events_per_second": round(summary["events"] / summary["wall_seconds"]),
        "batch_rows": summary["batch_rows"],
        "peak_rss_mb": round(summary["peak_rss_bytes"] / 2**20),
        "state_bytes": summary["state"]["bytes"], "active_entities": summary["state"]["active_entities"],
        "bytes_per_entity": summary["state"]["bytes_per_entity"], "alerts": summary["new_alerts"],
        "process_seconds": round(time.perf_counter() - started, 2),
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "detect_speed.json").write_text(json.dumps(result, indent=1))
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    table = Table("measure", "value", title=f"Detection stage, one core ({args.records:,} {args.format} records)")
    for key in ("events", "seconds", "events_per_second", "batch_rows", "peak_rss_mb", "active_entities",
                "bytes_per_entity", "state_bytes", "alerts"):
        value = result[key]
        table.add_row(key.replace("_", " "), f"{value:,}" if isinstance(value, int) else str(value))
    Console().print(table)


if __name__ == "__main__":
    main()

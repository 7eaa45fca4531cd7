"""Sensitive-data scanner speed on one core: MB/s and events/s of body text, peak memory.

    python bench/sensitive_speed.py                 # 50,000 HAR-lines records (100,000 bodies)
    python bench/sensitive_speed.py --records 20000 --json
    python bench/sensitive_speed.py --save-bodies /tmp/bodies.parquet   # keep the input ...
    python bench/sensitive_speed.py --bodies /tmp/bodies.parquet        # ... to compare two builds

Bodies are the request (``postData.text``) and response (``content.text``) bodies of
``apisight.demo.generate_bench(..., format="harl")`` (seeded, so runs are comparable),
scanned as one Polars column; an event is one record (its two bodies). Each measurement
runs in a child process pinned to CPU 0 (``sched_setaffinity``) with Polars on one
thread, which loads the bodies, compiles a scanner, then times:

- ``hyperscan``: the Hyperscan pass alone (``Scanner.candidates`` over the joined buffer);
- ``cold``: the full ``Scanner.scan`` (validation, field paths, masking, fingerprints) on
  a fresh scanner, so nothing is memoised yet: the figure for a first batch;
- ``warm``: the same column again on the same scanner, whose memo of distinct values
  (bounded, in memory) is filled: what a long-running stage sees for repeated values.

Each is the best of ``--repeat`` runs; a fresh child per run of ``cold``. Memory is the
child's RSS before scanning (bodies loaded, scanner compiled) and its peak RSS while
scanning (``VmHWM`` after resetting it through ``/proc/self/clear_refs``; ``ru_maxrss``, which
also counts compiling, where that cannot be reset). Target: 150 MB/s for the full scan. Figures: ``bench/out/sensitive_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MBS = 150.0
KEY = b"bench-fingerprint-key-0123456789abcdef"
OUT = Path(__file__).resolve().parent / "out" / "sensitive_speed.json"
MODES = ("hyperscan", "cold", "warm")


def bodies(records: int):  # -> pl.Series
    """Request and response bodies of ``records`` demo HAR lines, as one String column."""
    import orjson
    import polars as pl

    from apisight.demo import generate_bench

    with tempfile.TemporaryDirectory() as tmp:
        path = generate_bench(Path(tmp) / "bench.harl", records=records, format="harl")
        texts: list[str | None] = []
        with path.open("rb") as fh:
            for line in fh:
                if not line.strip():
                    continue
                e = orjson.loads(line)
                texts.append(((e.get("request") or {}).get("postData") or {}).get("text"))
                texts.append(((e.get("response") or {}).get("content") or {}).get("text"))
    return pl.Series("body", texts, dtype=pl.String)


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Restart the kernel's peak-RSS mark (VmHWM), so the peak is the scan's, not the compile's."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def child(path: str, mode: str, repeat: int) -> dict:
    """One measurement, in this (child) process: seconds (best of ``repeat``) and memory."""
    os.environ["POLARS_MAX_THREADS"] = "1"
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    import polars as pl

    from apisight.fingerprints import Fingerprinter
    from apisight.sensitive import Scanner

    series = pl.read_parquet(path)["body"]
    scanner = Scanner(Fingerprinter(KEY))
    rss_before = _status_kib("VmRSS")
    reset = _reset_peak()
    best, found = float("inf"), None
    if mode == "hyperscan":
        buf, _, _ = scanner._buffer(series)
        for _ in range(repeat):
            t = time.perf_counter()
            scanner.candidates(buf)
            best = min(best, time.perf_counter() - t)
    elif mode == "cold":
        t = time.perf_counter()
        found = scanner.scan(series)
        best = time.perf_counter() - t
    else:
        found = scanner.scan(series)  # fills the memo
        for _ in range(repeat):
            t = time.perf_counter()
            found = scanner.scan(series)
            best = min(best, time.perf_counter() - t)
    peak = _status_kib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out: dict = {"seconds": best, "rss_before_mib": rss_before / 1024, "peak_rss_mib": peak / 1024}
    if found is not None:
        out["findings"] = found.height
        out["findings_per_type"] = dict(found["type"].value_counts(sort=True).iter_rows())
    return out


def measure(path: Path, mode: str, repeat: int) -> dict:
    """``mode`` measured in child processes (``cold``: one fresh child per run)."""
    runs = []
    for _ in range(repeat if mode == "cold" else 1):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(path), "--mode", mode, "--repeat", str(repeat)],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(proc.stdout))
    best = min(runs, key=lambda r: r["seconds"])
    best["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
    best["runs_s"] = [round(r["seconds"], 4) for r in runs]
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--bodies", type=Path, help="scan this saved body column (Parquet) instead of generating")
    ap.add_argument("--save-bodies", type=Path, help="also save the generated body column here (Parquet)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.mode, args.repeat)))
        return 0

    import polars as pl

    with tempfile.TemporaryDirectory() as tmp:
        if args.bodies:
            path = args.bodies
            series = pl.read_parquet(path)["body"]
        else:
            series = bodies(args.records)
            path = args.save_bodies or Path(tmp) / "bodies.parquet"
            series.to_frame("body").write_parquet(path)
        events = len(series) // 2  # two bodies per record
        mb = int(series.str.len_bytes().fill_null(0).sum()) / 1e6
        figures = {mode: measure(path, mode, args.repeat) for mode in MODES}

    result: dict = {
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "events": events,
        "bodies": len(series),
        "body_mb": round(mb, 3),
        "target_mb_s": TARGET_MBS,
        "cpus": [0],
    }
    for mode, f in figures.items():
        result[mode] = {
            "seconds": round(f["seconds"], 4),
            "runs_s": f["runs_s"],
            "mb_s": round(mb / f["seconds"], 1),
            "events_s": round(events / f["seconds"]),
            "rss_before_mib": round(f["rss_before_mib"], 1),
            "peak_rss_mib": round(f["peak_rss_mib"], 1),
        }
    result["findings"] = figures["cold"].get("findings")
    result["findings_per_type"] = figures["cold"].get("findings_per_type")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    _print(result)
    return 0


def _print(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(
        title=f"Sensitive scan, {result['events']:,} events ({result['bodies']:,} bodies), "
        f"{result['body_mb']:.1f} MB, one core"
    )
    for col in ("pass", "seconds", "MB/s", "events/s", "RSS before (MiB)", "peak RSS (MiB)"):
        table.add_column(col, justify="left" if col == "pass" else "right")
    labels = {
        "hyperscan": "Hyperscan only",
        "cold": "full scan, fresh scanner",
        "warm": "full scan, memo warm",
    }
    for mode in MODES:
        f = result[mode]
        table.add_row(
            labels[mode],
            f"{f['seconds']:.3f}",
            f"{f['mb_s']:.1f}",
            f"{f['events_s']:,}",
            f"{f['rss_before_mib']:.0f}",
            f"{f['peak_rss_mib']:.0f}",
        )
    console.print(table)
    console.print(f"target {TARGET_MBS:.0f} MB/s for the full scan")
    types = Table(title=f"Findings: {result['findings']:,}")
    types.add_column("type")
    types.add_column("count", justify="right")
    for t, n in (result["findings_per_type"] or {}).items():
        types.add_row(t, f"{n:,}")
    console.print(types)
    console.print(f"Figures: {OUT}")


if __name__ == "__main__":
    sys.exit(main())

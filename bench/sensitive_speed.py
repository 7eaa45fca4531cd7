"""Sensitive-data scanner speed: MB/s of body text on one core, Hyperscan pass and full scan.

    python bench/sensitive_speed.py                 # 50,000 HAR-lines records (100,000 bodies)
    python bench/sensitive_speed.py --records 20000 --json

Bodies are the request (``postData.text``) and response (``content.text``) bodies of
``apisight.demo.generate_bench(..., format="harl")`` (seeded, so runs are comparable),
scanned as one Polars column. The process is pinned to CPU 0 (``sched_setaffinity``)
and Polars is limited to one thread. Two figures: the Hyperscan pass alone
(``Scanner.candidates`` over the joined buffer) and the full ``Scanner.scan`` (validation,
field paths, masking, fingerprints), each the best of ``--repeat`` runs on a fresh scanner
(so no validation memo carries over between runs). Target: 150 MB/s for the full scan.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("POLARS_MAX_THREADS", "1")
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {0})

import orjson  # noqa: E402
import polars as pl  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from apisight.demo import generate_bench  # noqa: E402
from apisight.fingerprints import Fingerprinter  # noqa: E402
from apisight.sensitive import Scanner  # noqa: E402

TARGET_MBS = 150.0
KEY = b"bench-fingerprint-key-0123456789abcdef"


def bodies(records: int) -> pl.Series:
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()

    series = bodies(args.records)
    mb = int(series.str.len_bytes().fill_null(0).sum()) / 1e6
    fp = Fingerprinter(KEY)

    hs_best = scan_best = float("inf")
    found = None
    for _ in range(args.repeat):
        scanner = Scanner(fp)
        buf, _, _ = scanner._buffer(series)
        t = time.perf_counter()
        scanner.candidates(buf)
        hs_best = min(hs_best, time.perf_counter() - t)
        scanner = Scanner(fp)
        t = time.perf_counter()
        found = scanner.scan(series)
        scan_best = min(scan_best, time.perf_counter() - t)
    assert found is not None
    per_type = dict(found["type"].value_counts(sort=True).iter_rows())
    result = {
        "records": args.records,
        "bodies": len(series),
        "body_mb": round(mb, 3),
        "hyperscan_s": round(hs_best, 4),
        "hyperscan_mb_s": round(mb / hs_best, 1),
        "scan_s": round(scan_best, 4),
        "scan_mb_s": round(mb / scan_best, 1),
        "target_mb_s": TARGET_MBS,
        "findings": found.height,
        "findings_per_type": per_type,
        "cpus": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    console = Console()
    table = Table(title=f"Sensitive scan, {len(series):,} bodies, {mb:.1f} MB, one core")
    table.add_column("pass")
    table.add_column("seconds", justify="right")
    table.add_column("MB/s", justify="right")
    table.add_row("Hyperscan only", f"{hs_best:.3f}", f"{mb / hs_best:.1f}")
    table.add_row("full scan", f"{scan_best:.3f}", f"{mb / scan_best:.1f} (target {TARGET_MBS:.0f})")
    console.print(table)
    types = Table(title=f"Findings: {found.height:,}")
    types.add_column("type")
    types.add_column("count", justify="right")
    for t, n in per_type.items():
        types.add_row(t, f"{n:,}")
    console.print(types)
    return 0


if __name__ == "__main__":
    sys.exit(main())

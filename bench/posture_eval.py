"""Posture-check quality on the demo's planted weaknesses: found / planted, clean look-alikes flagged.

    python bench/posture_eval.py                         # seeds 7 11 at scale 1
    python bench/posture_eval.py --seeds 7 --scales 0.5 1 2 --json

For each seed and scale, ``apisight.demo.generate_demo`` writes DemoBank's three days of
traffic. The demo plants at least one weakness for every posture check (a public receipt
with a full card number, an old app build over plain http, an access token in a download
link, alg:none tokens accepted, an unthrottled token refresh, Spring's actuator routed to
the internet, ...) and keeps a close look-alike clean elsewhere (a masked card number, the
load balancers' http health checks, a pre-signed link, expired tokens refused, a login that
answers 429, the admin console on the internal network, ...); ``labels/posture.jsonl``
lists both. The run is analysed exactly as ``apisight demo`` does and the open findings
are scored with :func:`apisight.demo.posture.scoring.score`: a finding matches a label
when check, host and method are the same and the paths are the same once parameter names
are dropped. Figures: ``bench/out/posture_eval.json``.

Per check, over all runs: planted weaknesses found / planted, clean look-alikes flagged /
clean look-alikes, and findings on endpoints no label mentions ("unlabelled": neither right
nor wrong, listed for reading). Target: every planted weakness found, no look-alike flagged.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from apisight.demo import generate_demo
from apisight.demo.analysis import demo_request
from apisight.demo.posture import read_labels
from apisight.demo.posture.scoring import describe, score
from apisight.pipeline import analyze
from apisight.store import Catalog
from apisight.store.findings import load_findings

OUT = Path(__file__).resolve().parent / "out" / "posture_eval.json"


def run_demo(directory: Path, seed: int, scale: float) -> dict[str, Any]:
    """Generate, analyse and score one demo; returns the score with the run's summary."""
    manifest = generate_demo(directory / "input", seed=seed, scale=scale)
    root = directory / "data"
    request = demo_request(manifest, root)
    summary = analyze(request)
    assert manifest.posture_labels is not None
    catalog = Catalog(root, read_only=True)
    try:
        result = score(load_findings(catalog.db), read_labels(manifest.posture_labels))
    finally:
        catalog.close()
    result["failed_checks"] = summary.get("findings", {}).get("failed", {})
    result["records"] = manifest.records
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 11])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    console = Console(stderr=args.json, width=None if sys.stdout.isatty() else 160)
    runs = []
    totals: dict[str, dict[str, Any]] = defaultdict(lambda: {"planted": 0, "found": 0, "clean": 0, "flagged": 0,
                                                             "unlabelled": 0, "findings": 0})
    for scale in args.scales:
        for seed in args.seeds:
            with tempfile.TemporaryDirectory(prefix="apisight-posture-") as tmp:
                started = time.perf_counter()
                result = run_demo(Path(tmp), seed, scale)
            result.update(seed=seed, scale=scale, seconds=round(time.perf_counter() - started, 1))
            runs.append(result)
            console.print(f"seed {seed} scale {scale}: {result['records']:,} records, planted found "
                          f"{result['found']}/{result['planted']}, clean flagged {result['flagged']}/"
                          f"{result['clean']}, unlabelled findings {result['unlabelled']} ({result['seconds']} s)",
                          markup=False)
            for name in result["failed_checks"]:
                console.print(f"  check failed to run: {name}: {result['failed_checks'][name]}", markup=False)
            for name, row in result["checks"].items():
                for k in totals[name]:
                    totals[name][k] += len(row[k]) if isinstance(row[k], list) else row[k]
                for kind in ("missed", "flagged", "unlabelled"):
                    for entry in row[kind]:
                        console.print(f"  {kind} {name}: {describe(entry)}", markup=False)
    rows = [{"check": name, **t} for name, t in sorted(totals.items())]
    out = {"runs": runs, "checks": rows,
           "planted": sum(r["planted"] for r in rows), "found": sum(r["found"] for r in rows),
           "clean": sum(r["clean"] for r in rows), "flagged": sum(r["flagged"] for r in rows),
           "unlabelled": sum(r["unlabelled"] for r in rows)}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(orjson.dumps(out, default=str, option=orjson.OPT_INDENT_2))
    if args.json:
        sys.stdout.write(orjson.dumps(out, default=str).decode() + "\n")
        return
    table = Table("check", "planted found", "clean flagged", "unlabelled findings", "findings",
                  title=f"Posture checks on the demo's planted weaknesses (seeds {args.seeds}, scales {args.scales})")
    for r in rows:
        found = f"{r['found']}/{r['planted']}"
        flagged = f"{r['flagged']}/{r['clean']}"
        table.add_row(r["check"], found if r["found"] == r["planted"] else f"[red]{found}[/]",
                      flagged if not r["flagged"] else f"[red]{flagged}[/]", str(r["unlabelled"]), str(r["findings"]))
    table.add_row("all", f"{out['found']}/{out['planted']}", f"{out['flagged']}/{out['clean']}",
                  str(out["unlabelled"]), str(sum(r["findings"] for r in rows)), style="bold")
    console.print(table)


if __name__ == "__main__":
    main()

"""Detection quality on the demo's labelled scenarios: precision, recall, time to detect.

    python bench/detect_eval.py                         # seeds 7 11 23 at scale 1
    python bench/detect_eval.py --seeds 7 --scales 0.5 1 2 --json

For each seed and scale, ``apisight.demo.generate_demo`` writes DemoBank's three days
of traffic with labelled attacks and deliberately noisy benign look-alikes (a partner's
nightly batch, a mobile-app retry storm, a marketing spike, a business customer with
many accounts, a forgetful user, an API version rollout); the run is analysed exactly
as ``apisight demo`` does, and the stored alerts are compared with
``labels/scenarios.jsonl``.

Matching. An alert *matches* an attack scenario when its detector is the scenario's
kind, its entity is the scenario's (by kind: the same address, or an address or /24
inside or around the labelled range; the same user agent, principal, API key id —
``key_`` + fingerprint of the labelled key — or account fingerprint of the labelled
user name), and its event-time span overlaps the scenario's (± 1 h).

Scores, per detector, over all runs: recall = attack scenarios with a matching alert /
attack scenarios; precision = alerts matching an attack scenario of their kind /
alerts (entity level: an alert is one entity's episode). Time to detect = the first
matching alert's ``detected_at`` (the end of the first window whose evidence crosses
the thresholds, i.e. when a streaming run raises it) minus the scenario's first
record. False alerts per million benign events = alerts matching no attack scenario /
unlabelled-or-benign events x 1e6. Benign scenarios must raise nothing on their
entity; the rollout must raise nothing on its endpoints and should be recorded as an
API change.
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
from apisight.detect.evaluation import evaluate
from apisight.pipeline import analyze


def run_demo(directory: Path, seed: int, scale: float) -> tuple[Path, Path, dict[str, Any]]:
    """Generate and analyse one demo; returns (data dir, labels file, run summary)."""
    manifest = generate_demo(directory / "input", seed=seed, scale=scale)
    root = directory / "data"
    request = demo_request(manifest, root)
    return root, manifest.labels, analyze(request)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 23])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    console = Console(stderr=args.json)
    runs = []
    totals: dict[str, dict[str, Any]] = defaultdict(lambda: {"scenarios": 0, "found": 0, "alerts": 0,
                                                             "true_alerts": 0, "ttd_s": []})
    for scale in args.scales:
        for seed in args.seeds:
            with tempfile.TemporaryDirectory(prefix="apisight-eval-") as tmp:
                started = time.perf_counter()
                root, labels, summary = run_demo(Path(tmp), seed, scale)
                result = evaluate(root, labels)
                result.update(seed=seed, scale=scale, seconds=round(time.perf_counter() - started, 1),
                              detection_seconds=summary.get("detection", {}).get("seconds"))
                runs.append(result)
                for name, r in result["detectors"].items():
                    for k in ("scenarios", "found", "alerts", "true_alerts"):
                        totals[name][k] += r[k]
                    totals[name]["ttd_s"] += r["ttd_s"]
                console.print(f"seed {seed} scale {scale}: {result['events']:,} events, "
                              f"{result['false_alerts']} false alert(s), benign hits {len(result['benign_hits'])}, "
                              f"rollout recorded {result['rollout_recorded_as_api_change']} "
                              f"({result['seconds']} s)", markup=False)
                for name, r in sorted(result["detectors"].items()):
                    for miss in r["missed"]:
                        console.print(f"  missed {name}: {miss}", markup=False)
                    for false in r["false"]:
                        console.print(f"  false {name}: {false}", markup=False)
                for hit in result["benign_hits"]:
                    console.print(f"  benign look-alike alerted: {hit}", markup=False)
                for change in result["other_api_changes"]:
                    console.print(f"  API change recorded that is no labelled change: {change}", markup=False)
    summary_rows = []
    for name, t in sorted(totals.items()):
        ttd = sorted(t["ttd_s"])
        summary_rows.append({
            "detector": name, "scenarios": t["scenarios"], "found": t["found"],
            "recall": round(t["found"] / t["scenarios"], 3) if t["scenarios"] else None,
            "alerts": t["alerts"], "precision": round(t["true_alerts"] / t["alerts"], 3) if t["alerts"] else None,
            "ttd_median_s": ttd[len(ttd) // 2] if ttd else None, "ttd_max_s": ttd[-1] if ttd else None,
        })
    out = {"runs": runs, "detectors": summary_rows,
           "false_alerts_per_million": round(sum(r["false_alerts"] for r in runs)
                                             / sum(r["benign_events"] for r in runs) * 1e6, 2)}
    if args.json:
        sys.stdout.write(orjson.dumps(out, default=str).decode() + "\n")
        return
    table = Table("detector", "scenarios", "found", "recall", "alerts", "precision", "TTD median", "TTD max",
                  title=f"Detection on the labelled demo (seeds {args.seeds}, scales {args.scales})")
    for r in summary_rows:
        table.add_row(r["detector"], str(r["scenarios"]), str(r["found"]), str(r["recall"]), str(r["alerts"]),
                      str(r["precision"]), _dur(r["ttd_median_s"]), _dur(r["ttd_max_s"]))
    console.print(table)
    console.print(f"false alerts per million benign events: {out['false_alerts_per_million']}", markup=False)


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


if __name__ == "__main__":
    main()

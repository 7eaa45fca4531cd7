"""Attacker-chosen variety: `apisight analyze` on a scanner's burst of distinct random paths.

    python bench/junk_paths.py                 # 1,000,000 lines, each its own random path
    python bench/junk_paths.py --lines 200000 --json

Memory and time must be set by configuration (``discovery.max_templates_per_host``), not
by how many distinct paths an attacker sends. Prints wall time, peak RSS, the endpoints
the inventory kept and the requests counted under ``/{unmapped_path}``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import string
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import OUT, measure


def write(path: Path, lines: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    alphabet = string.ascii_lowercase + string.digits
    with path.open("w") as f:
        for i in range(lines):
            segments = ("".join(rng.choices(alphabet, k=rng.randint(3, 12))) for _ in range(rng.randint(1, 5)))
            f.write(f'198.51.100.{i % 200} - - [25/Nov/2026:{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d} '
                    f'+0000] "GET /{"/".join(segments)} HTTP/1.1" 404 12 "-" "scanner/1.0"\n')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="apisight-junk-"))
    try:
        log = work / "junk.log"
        write(log, args.lines)
        seconds, rss, stdout = measure([sys.executable, "-m", "apisight.cli", "analyze", str(log), "--format",
                                        "nginx", "--data", str(work / "data"), "--json"])
        summary = json.loads(stdout)
        row = {"lines": args.lines, "bytes": log.stat().st_size, "seconds": round(seconds, 1),
               "peak_rss_mb": round(rss / 2**20), "endpoints": summary["inventory"]["endpoints"],
               "unmapped_requests": summary["inventory"]["unmapped_requests"],
               "inventory_seconds": summary["inventory"]["seconds"]}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    OUT.mkdir(exist_ok=True)
    (OUT / "junk_paths.json").write_text(json.dumps(row, indent=2))
    if args.json:
        print(json.dumps(row, indent=2))
    else:
        print(f"{row['lines']:,} distinct random paths ({row['bytes'] / 1e6:,.0f} MB): {row['seconds']} s, "
              f"peak {row['peak_rss_mb']:,} MB; {row['endpoints']:,} endpoints, "
              f"{row['unmapped_requests']:,} requests under /{{unmapped_path}} (inventory {row['inventory_seconds']} s)")


if __name__ == "__main__":
    main()

"""``python -m apisight.demo OUT_DIR [--records N --format F]``: write demo or bench data."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from apisight.demo.generate import BENCH_WRITERS, generate_bench, generate_demo
from apisight.errors import ApisightError


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m apisight.demo", description=__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--records", type=int, help="write N bench records in one format instead of the demo")
    parser.add_argument("--format", default="nginx", choices=sorted(BENCH_WRITERS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0, help="demo size factor (1.0: ~100k records)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        if args.records:
            path = generate_bench(args.out_dir / f"bench-{args.records}.{args.format}", records=args.records,
                                  format=args.format, seed=args.seed)
            count, what = args.records, str(path)
        else:
            manifest = generate_demo(args.out_dir, seed=args.seed, scale=args.scale)
            count, what = manifest.records, str(manifest.out_dir)
    except ApisightError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    print(f"wrote {count} records to {what} in {elapsed:.1f}s ({count / elapsed:,.0f} records/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

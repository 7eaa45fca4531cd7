"""Ingest benchmark: `apisight analyze` against a bare DuckDB read and GoAccess.

    python bench/ingest.py                       # 1,000,000 nginx lines + 200,000 HAR lines
    python bench/ingest.py --nginx 200000 --harl 50000 --json

Data comes from the demo generator (seeded, so runs are comparable). Each contender runs
as its own process, measured for wall time and peak RSS. Figures print as a table and
are saved to bench/out/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

OUT = Path(__file__).resolve().parent / "out"

MEASURE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
    "e = time.perf_counter() - t\n"
    "print(p.returncode, e, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.stdout.write(p.stdout.decode(errors='replace')[-100000:])\n"
)

DUCKDB_NGINX = (
    "import duckdb, sys; duckdb.sql(\"CREATE TABLE t AS SELECT * FROM read_csv('\" + sys.argv[1] + \"', "
    "delim=' ', quote='\\\"', escape='', header=false, auto_detect=true, ignore_errors=true)\")"
)
DUCKDB_JSON = (
    "import duckdb, sys; duckdb.sql(\"CREATE TABLE t AS SELECT * FROM read_json('\" + sys.argv[1] + \"', "
    "format='newline_delimited', maximum_object_size=67108864)\")"
)


def measure(command: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (bytes) and stdout of ``command`` in a fresh process."""
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True)
    first, _, stdout = out.stdout.partition("\n")
    rc, seconds, rss_kb = first.split()
    if rc != "0":
        raise RuntimeError(f"{command[0]} failed ({rc}): {out.stderr[-500:]}")
    return float(seconds), int(rss_kb) * 1024, stdout


def ensure_goaccess(console: Console) -> str | None:
    found = shutil.which("goaccess")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        console.print("[dim]installing goaccess (Debian package) ...[/]")
        subprocess.run(["apt-get", "install", "-y", "-qq", "goaccess"], capture_output=True, check=False)
    return shutil.which("goaccess")


def run_case(name: str, path: Path, records: int, fmt: str, workdir: Path, console: Console) -> list[dict]:
    size = path.stat().st_size
    rows = []
    data = workdir / f"data-{name}"
    shutil.rmtree(data, ignore_errors=True)
    apisight = [sys.executable, "-m", "apisight.cli", "analyze", str(path), "--format", fmt, "--data", str(data), "--json"]
    bare = [sys.executable, "-c", DUCKDB_NGINX if fmt == "nginx" else DUCKDB_JSON, str(path)]
    contenders = [("apisight analyze", apisight), ("bare DuckDB read", bare)]
    goaccess = ensure_goaccess(console) if fmt == "nginx" else None
    if goaccess:
        report = workdir / "goaccess.json"
        contenders.append(("GoAccess (JSON report)", [goaccess, str(path), "--log-format=COMBINED",
                                                      "-o", str(report), "--no-progress"]))
    for label, command in contenders:
        console.print(f"[dim]{name}: {label} ...[/]")
        seconds, rss, stdout = measure(command)
        rows.append({"case": name, "tool": label, "records": records, "bytes": size, "seconds": round(seconds, 3),
                     "records_per_s": round(records / seconds), "mb_per_s": round(size / seconds / 1e6, 1),
                     "peak_rss_mb": round(rss / 2**20)})
        if command is apisight:  # the run's own split: ingest (read, normalise, store) and discovery
            summary = json.loads(stdout)
            ingest = summary["seconds"]
            rows.append({"case": name, "tool": "  of which ingest", "records": records, "bytes": size,
                         "seconds": ingest, "records_per_s": round(records / ingest),
                         "mb_per_s": round(size / ingest / 1e6, 1), "peak_rss_mb": None})
            rows.append({"case": name, "tool": "  of which inventory update", "records": records, "bytes": size,
                         "seconds": summary["inventory"]["seconds"], "records_per_s": None, "mb_per_s": None,
                         "peak_rss_mb": None})
    if fmt == "nginx":
        rows += rereads(name, path, records, fmt, data, workdir, console)
    ours = rows[0]["seconds"]
    for row in rows:
        row["apisight_speedup"] = round(row["seconds"] / ours, 2) if not row["tool"].startswith(" ") else None
    return rows


def rereads(name: str, path: Path, records: int, fmt: str, data: Path, workdir: Path,
            console: Console) -> list[dict]:
    """What reading records the store holds already costs: the same file again (recognised,
    skipped), a copy of it (every record read, then left out as stored), and the whole
    file after its first half was read (half of it left out)."""
    size = path.stat().st_size
    copy = workdir / f"copy-{path.name}"
    shutil.copyfile(path, copy)  # a new modification time: not recognised as read, so read whole
    half = workdir / f"half-{path.name}"
    with path.open("rb") as src, half.open("wb") as dst:
        lines = src.readlines()
        dst.writelines(lines[: len(lines) // 2])
    half_data = workdir / f"data-{name}-half"
    shutil.rmtree(half_data, ignore_errors=True)

    def analyze(file: Path, into: Path) -> list[str]:
        return [sys.executable, "-m", "apisight.cli", "analyze", str(file), "--format", fmt, "--data", str(into),
                "--json"]

    subprocess.run(analyze(half, half_data), capture_output=True, check=True)
    rows = []
    for label, command in [("  again: same file (skipped)", analyze(path, data)),
                           ("  again: a copy (all left out)", analyze(copy, data)),
                           ("  whole file, first half stored", analyze(path, half_data))]:
        console.print(f"[dim]{name}: {label.strip()} ...[/]")
        seconds, rss, stdout = measure(command)
        summary = json.loads(stdout)
        rows.append({"case": name, "tool": label, "records": records, "bytes": size, "seconds": round(seconds, 3),
                     "records_per_s": round(records / seconds), "mb_per_s": round(size / seconds / 1e6, 1),
                     "peak_rss_mb": round(rss / 2**20), "duplicates": summary["duplicates"],
                     "already_read": len(summary["already_read"])})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nginx", type=int, default=1_000_000, help="nginx combined lines (0 to skip)")
    parser.add_argument("--harl", type=int, default=200_000, help="HAR-lines records with bodies (0 to skip)")
    parser.add_argument("--workdir", type=Path, default=None, help="where generated data goes (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    from apisight.demo import generate_bench

    console = Console(stderr=True)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="apisight-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    for name, fmt, count in [("nginx combined", "nginx", args.nginx), ("HAR lines", "harl", args.harl)]:
        if not count:
            continue
        console.print(f"[dim]generating {count:,} {name} records ...[/]")
        t = time.perf_counter()
        path = generate_bench(workdir / f"bench.{fmt}", records=count, format=fmt)
        console.print(f"[dim]  generated in {time.perf_counter() - t:.1f} s ({path.stat().st_size / 1e6:,.0f} MB)[/]")
        rows += run_case(name, path, count, fmt, workdir, console)
    OUT.mkdir(exist_ok=True)
    (OUT / "ingest.json").write_text(json.dumps(rows, indent=2))
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("case", "tool", "records/s", "MB/s", "seconds", "peak RSS MB", "time vs apisight",
                  title=f"Ingest benchmark ({os.cpu_count()} CPUs)")
    def cell(value: object, suffix: str = "") -> str:
        return "" if value is None else (f"{value:,}" if isinstance(value, int) else str(value)) + suffix

    for r in rows:
        table.add_row(r["case"], r["tool"], cell(r["records_per_s"]), cell(r["mb_per_s"]), cell(r["seconds"]),
                      cell(r["peak_rss_mb"]), cell(r["apisight_speedup"], "×"))
    Console().print(table)
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Discovery speed: inventory updates, HAR -> inventory + OpenAPI, and mitmproxy2swagger.

    python bench/discovery_speed.py                          # 1,000,000 nginx events, 50,000 HAR entries
    python bench/discovery_speed.py --events 200000 --har-entries 20000 --json
    python bench/discovery_speed.py --har-entries 0 --scaling   # part 1 and how the update scales

Three parts, one table each; figures are also saved to bench/out/discovery_speed.json.
Data comes from the demo generator (seeded, so runs are comparable). Every contender runs
as its own process, measured for wall time and peak RSS.

1. Inventory update for already-known paths. ``--events`` nginx lines are analysed once
   into a fresh data directory (their paths become known), then the same lines are
   analysed a second time into a copy of that directory: every raw path of the second
   run is already mapped (the table says how many were new: 0). The second run is
   ``apisight.pipeline.analyze`` in a child process whose ``update_inventory`` is
   wrapped with a timer, so the figure is the inventory update alone, not ingest. It is
   reported per event added by the run (the update aggregates the run's new files into
   partial aggregates kept in the catalog) and, for comparison with builds that
   aggregated everything stored, per event stored. Two variants: the machine's default
   (DuckDB and Polars use every CPU) and one core (process pinned to CPU 0 with
   ``sched_setaffinity``, ``POLARS_MAX_THREADS=1``, DuckDB ``SET threads=1``). Target:
   >= 1,000,000 events/s on one core. The update's phases are timed too (in the JSON).
   With ``--scaling``, a run of ``--events``/10 known-path events (the file's first
   lines) is timed the same way (one core) on top of ``--events`` and of 3 x ``--events``
   stored events: the update should cost the same whatever is stored.
2. HAR -> inventory + OpenAPI with no manual step: ``apisight analyze capture.har`` then
   ``apisight openapi -o observed.yaml`` (or, where that command does not exist yet,
   ``build_openapi`` over the stored endpoints), and the same for HAR lines. Entries/s
   end to end (both processes). Target: >= 100,000 entries/s.
3. mitmproxy2swagger on the same HAR file. It works in two passes: the first lists
   every raw path under ``x-path-templates`` as ``ignore:<path>`` (with a suggested
   ``{id}`` template before paths that have numeric segments), for a person to edit;
   the second builds ``paths`` from the accepted entries. Here the edit is automatic and
   generous: the ``ignore:`` prefix is removed from every entry (all suggestions and all
   raw paths accepted, order kept; first match wins, so suggestions shadow the raw paths
   they cover). It takes one URL prefix per run, so it runs for the demo's public host
   ``https://api.demobank.example``, and the (method, template) pairs of both tools
   are scored against the demo's endpoint catalogue (``apisight.demo.endpoints``)
   for that host, parameters compared as ``{}``. apisight is also scored on all hosts.
   mitmproxy2swagger is not installed by this script: ``pip install mitmproxy2swagger``
   (or pass ``--install``); without it, part 3 is skipped with a note.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import import_module, metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

OUT = Path(__file__).resolve().parent / "out"
EVENTS_TARGET = 1_000_000
HAR_TARGET = 100_000
M2S_HOST = "api.demobank.example"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
PARAM = re.compile(r"\{[^{}/]*\}")

MEASURE = (
    "import resource, subprocess, sys, time\n"
    "out = open(sys.argv[1], 'wb')\n"
    "t = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.PIPE)\n"
    "e = time.perf_counter() - t\n"
    "sys.stderr.buffer.write(p.stderr[-3000:])\n"
    "print(p.returncode, e, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)

EXPORT_FALLBACK = (  # used only where `apisight openapi` does not exist
    "import sys, yaml\n"
    "from pathlib import Path\n"
    "from apisight.discovery.export import build_openapi\n"
    "from apisight.store import Catalog\n"
    "from apisight.store.inventory import load_endpoints\n"
    "catalog = Catalog(Path(sys.argv[1]), read_only=True)\n"
    "doc = build_openapi(load_endpoints(catalog.db), host=None)\n"
    "Path(sys.argv[2]).write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))\n"
)


def measure(command: list[str], stdout: Path, env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of ``command`` in a fresh process; its stdout goes to ``stdout``."""
    out = subprocess.run([sys.executable, "-c", MEASURE, str(stdout), *command], capture_output=True, text=True,
                         env=env, check=False)
    if out.returncode != 0 or not out.stdout.strip():
        raise RuntimeError(f"measuring {command[:3]} failed: {out.stderr[-800:]}")
    rc, seconds, rss_kb = out.stdout.split()
    if rc != "0":
        raise RuntimeError(f"{' '.join(command[:4])} ... failed ({rc}): {out.stderr[-800:]}")
    return float(seconds), int(rss_kb) * 1024


def apisight_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "apisight.cli", *args]


def has_openapi_command() -> bool:
    try:
        from apisight.cli import app
    except ImportError:
        return False
    return any((c.name or getattr(c.callback, "__name__", "")) == "openapi" for c in app.registered_commands)


def canonical(path: str) -> str:
    return PARAM.sub("{}", path)


def version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


# -- part 1: inventory update for already-known paths ---------------------------------------


def inventory_child(data: Path, source: Path, result: Path, one_core: bool) -> None:
    """Run analyze in this process with ``update_inventory`` (and its phases) timed; write JSON to ``result``."""
    if one_core:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from apisight import pipeline
    from apisight.config import load_settings
    from apisight.discovery import inventory as inv
    from apisight.store import inventory as q

    phases: dict[str, float] = {}

    def timed(module: Any, name: str, label: str | None = None) -> None:
        real = getattr(module, name, None)
        if real is None:
            return
        label = label or name

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                phases[label] = phases.get(label, 0.0) + time.perf_counter() - t

        setattr(module, name, wrapper)

    # the steps update_inventory calls (nested calls are inside their caller's time); builds
    # without partial aggregates lack those modules and steps
    for name in ("ensure_tables", "distinct_paths", "add_path_counts_by_key", "replace_path_templates",
                 "load_endpoints", "endpoint_facts", "query_params", "sample_bodies", "replace_endpoints",
                 "record_changes"):
        timed(q, name)
    for module, names in (("inventory_partials", ("ensure_tables", "pending", "stage", "unmapped_paths",
                                                  "add_staged", "drop_days", "remap")),
                          ("inventory_totals", ("endpoint_facts", "query_params"))):
        try:
            found = import_module(f"apisight.store.{module}")
        except ImportError:
            continue
        for name in names:
            timed(found, name, f"{module.removeprefix('inventory_')}.{name}")
    for name in ("_map_paths", "params_by_endpoint", "merge_body_schemas", "assess", "_changes"):
        timed(inv, name)

    real_update = pipeline.update_inventory
    info: dict[str, Any] = {}

    def update(catalog: Any, files: list[Any], *args: Any, **kwargs: Any) -> Any:
        db = catalog.db
        if one_core:
            db.execute("SET threads=1")
        info["duckdb_threads"] = db.execute("SELECT current_setting('threads')").fetchone()[0]
        info["events_stored"] = db.execute("SELECT count(*) FROM events").fetchone()[0]
        info["events_added"] = db.execute("SELECT count(*) FROM read_parquet(?)",
                                          [[str(f) for f in files]]).fetchone()[0]
        known = {tuple(r) for r in db.execute("SELECT host, method, path FROM path_templates").fetchall()}
        seen = db.execute(
            "SELECT DISTINCT coalesce(host, ''), method, path FROM read_parquet(?) "
            "WHERE method IS NOT NULL AND path IS NOT NULL", [[str(f) for f in files]]).fetchall()
        info["distinct_paths_in_run"] = len(seen)
        info["new_paths_in_run"] = sum(tuple(r) not in known for r in seen)
        info["distinct_paths_known"] = len(known)
        phases.clear()
        t, cpu = time.perf_counter(), time.process_time()
        out = real_update(catalog, files, *args, **kwargs)
        info["update_seconds"] = time.perf_counter() - t
        info["update_cpu_seconds"] = time.process_time() - cpu  # on a busy machine, less noisy than wall time
        info["phases"] = {k: round(v, 4) for k, v in sorted(phases.items(), key=lambda kv: -kv[1])}
        return out

    pipeline.update_inventory = update
    request = pipeline.RunRequest([str(source)], data, load_settings(None, data), "nginx")
    t = time.perf_counter()
    summary = pipeline.analyze(request)
    info["analyze_seconds"] = time.perf_counter() - t
    info["records"] = summary["records"]
    info["inventory"] = summary.get("inventory")
    result.write_text(json.dumps(info))


def part_inventory(events: int, workdir: Path, console: Console) -> list[dict]:
    from apisight.demo import generate_bench

    console.print(f"[dim]part 1: generating {events:,} nginx lines ...[/]")
    source = generate_bench(workdir / "events.nginx", records=events, format="nginx")
    first = workdir / "inv-first"
    shutil.rmtree(first, ignore_errors=True)
    console.print("[dim]part 1: first run (paths become known) ...[/]")
    first_s, first_rss = measure(apisight_cmd("analyze", str(source), "--format", "nginx", "--data", str(first),
                                              "--json"), workdir / "inv-first.json")
    rows = []
    for label, one_core in [(f"default ({os.cpu_count()} CPUs)", False), ("one core", True)]:
        data = workdir / f"inv-second-{int(one_core)}"
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(first, data)
        result = workdir / f"inv-second-{int(one_core)}.result.json"
        env = dict(os.environ)
        if one_core:
            env["POLARS_MAX_THREADS"] = "1"
        console.print(f"[dim]part 1: second run, {label} ...[/]")
        seconds, rss = measure([sys.executable, str(Path(__file__).resolve()), "--_inventory-child", str(data),
                                str(source), str(result), "1" if one_core else "0"], workdir / "child.out", env)
        info = json.loads(result.read_text())
        update_s = info["update_seconds"]
        per_stored = info["events_stored"] / update_s
        rows.append({
            "cpus": label, "one_core": one_core, "duckdb_threads": info["duckdb_threads"],
            "events_stored": info["events_stored"], "events_added": info["events_added"],
            "distinct_paths_known": info["distinct_paths_known"], "distinct_paths_in_run": info["distinct_paths_in_run"],
            "new_paths_in_run": info["new_paths_in_run"], "endpoints": (info["inventory"] or {}).get("endpoints"),
            "update_seconds": round(update_s, 3), "update_cpu_seconds": round(info["update_cpu_seconds"], 3),
            "events_stored_per_s": round(per_stored), "events_added_per_s": round(info["events_added"] / update_s),
            "target_events_per_s": EVENTS_TARGET, "target_met_stored": per_stored >= EVENTS_TARGET,
            "target_met_added": info["events_added"] / update_s >= EVENTS_TARGET,
            "second_run_seconds": round(seconds, 3), "second_run_peak_rss_mb": round(rss / 2**20),
            "first_run_seconds": round(first_s, 3), "first_run_peak_rss_mb": round(first_rss / 2**20),
            "phases_seconds": info["phases"],
        })
    return rows


def part_scaling(events: int, workdir: Path, console: Console) -> list[dict]:
    """A run of events/10 known-path events on top of 1x and 3x ``events`` stored (one core)."""
    source = workdir / "events.nginx"
    small = workdir / "events-tenth.nginx"
    with source.open("rb") as full, small.open("wb") as out:
        for _, line in zip(range(max(events // 10, 1)), full, strict=False):
            out.write(line)
    rows = []
    for multiple in (1, 3):
        data = workdir / f"scale-{multiple}"
        shutil.rmtree(data, ignore_errors=True)
        for k in range(multiple):
            console.print(f"[dim]part 1, scaling: storing {events:,} events ({k + 1}/{multiple}) ...[/]")
            measure(apisight_cmd("analyze", str(source), "--format", "nginx", "--data", str(data), "--json"),
                    workdir / "scale-store.json")
        result = workdir / f"scale-{multiple}.result.json"
        env = dict(os.environ, POLARS_MAX_THREADS="1")
        console.print(f"[dim]part 1, scaling: a run of {events // 10:,} events on {multiple} x {events:,} ...[/]")
        _, rss = measure([sys.executable, str(Path(__file__).resolve()), "--_inventory-child", str(data),
                          str(small), str(result), "1"], workdir / "child.out", env)
        info = json.loads(result.read_text())
        rows.append({
            "events_stored": info["events_stored"], "events_added": info["events_added"],
            "new_paths_in_run": info["new_paths_in_run"], "distinct_paths_in_run": info["distinct_paths_in_run"],
            "update_seconds": round(info["update_seconds"], 3), "update_cpu_seconds": round(info["update_cpu_seconds"], 3),
            "events_added_per_s": round(info["events_added"] / info["update_seconds"]),
            "second_run_peak_rss_mb": round(rss / 2**20), "phases_seconds": info["phases"],
        })
    return rows


# -- part 2: HAR -> inventory + OpenAPI ------------------------------------------------------


def write_captures(entries: int, workdir: Path, console: Console) -> tuple[Path, Path, Any]:
    import polars as pl

    from apisight.demo import demo_frames
    from apisight.demo.har import write_harl
    from apisight.demo.writers import write_har

    console.print(f"[dim]part 2: generating {entries:,} HAR entries ...[/]")
    frames = demo_frames(scale=entries / 100_000)
    frame = pl.concat(list(frames.values())).sort("ts", maintain_order=True).head(entries)
    har, harl = workdir / "capture.har", workdir / "capture.harl"
    write_har(frame, har)
    write_harl(frame, harl)
    return har, harl, frame


def part_har(har: Path, harl: Path, entries: int, workdir: Path, console: Console) -> list[dict]:
    native = has_openapi_command()
    rows = []
    for case, path, fmt in [("HAR file", har, "har"), ("HAR lines", harl, "harl")]:
        data = workdir / f"har-{fmt}"
        shutil.rmtree(data, ignore_errors=True)
        spec = workdir / f"observed-{fmt}.yaml"
        console.print(f"[dim]part 2: {case}: apisight analyze ...[/]")
        a_s, a_rss = measure(apisight_cmd("analyze", str(path), "--data", str(data), "--json"),
                             workdir / f"analyze-{fmt}.json")
        summary = json.loads((workdir / f"analyze-{fmt}.json").read_text())
        export = (apisight_cmd("openapi", "-o", str(spec), "--data", str(data)) if native
                  else [sys.executable, "-c", EXPORT_FALLBACK, str(data), str(spec)])
        console.print(f"[dim]part 2: {case}: OpenAPI export ...[/]")
        e_s, e_rss = measure(export, workdir / f"export-{fmt}.out")
        import yaml

        doc = yaml.safe_load(spec.read_text())
        operations = sum(1 for item in (doc.get("paths") or {}).values() for m in item if m in HTTP_METHODS)
        total = a_s + e_s
        rows.append({
            "case": case, "file": path.name, "format_detected": summary.get("sources"), "entries": entries,
            "records_stored": summary["records"], "bytes": path.stat().st_size,
            "analyze_seconds": round(a_s, 3), "openapi_seconds": round(e_s, 3), "seconds": round(total, 3),
            "entries_per_s": round(entries / total), "target_entries_per_s": HAR_TARGET,
            "target_met": entries / total >= HAR_TARGET,
            "peak_rss_mb": round(max(a_rss, e_rss) / 2**20),
            "endpoints": (summary.get("inventory") or {}).get("endpoints"), "openapi_paths": len(doc.get("paths") or {}),
            "openapi_operations": operations,
            "export": "apisight openapi -o observed.yaml" if native else "build_openapi (no `apisight openapi` command)",
            "data_dir": str(data),
        })
    return rows


# -- part 3: mitmproxy2swagger and quality ---------------------------------------------------


def ground_truth(frame: Any) -> tuple[set[tuple[str, str, str]], int]:
    """(host, method, template-with-{}) of the catalogue endpoints present in ``frame``; unmatched path count."""
    from apisight.demo.endpoints import ENDPOINTS

    compiled = []
    for e in ENDPOINTS:
        pattern = "^" + PARAM.sub("[^/]+", re.escape(e.path).replace(r"\{", "{").replace(r"\}", "}")) + "$"
        literal = not PARAM.search(e.path)
        compiled.append((e.host, e.method, canonical(e.path), re.compile(pattern), literal))
    compiled.sort(key=lambda c: not c[4])  # literal templates first: /v2/customers/me before /{x}/{y}/{z}
    truth, unmatched = set(), 0
    for host, method, path in frame.select("host", "method", "path").unique().iter_rows():
        for h, m, template, regex, _ in compiled:
            if h == host and m == method and regex.match(path):
                truth.add((host, method, template))
                break
        else:
            unmatched += 1
    return truth, unmatched


def score(found: set, truth: set) -> dict[str, Any]:
    tp, fp, fn = len(found & truth), len(found - truth), len(truth - found)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"pairs": len(found), "truth": len(truth), "tp": tp, "fp": fp, "fn": fn,
            "precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4),
            "false_positives": sorted(" ".join(x[-2:]) for x in found - truth)[:25],
            "missed": sorted(" ".join(x[-2:]) for x in truth - found)}


def ours_pairs(data: Path) -> set[tuple[str, str, str]]:
    from apisight.store import Catalog
    from apisight.store.inventory import load_endpoints

    catalog = Catalog(data, read_only=True)
    try:
        endpoints = load_endpoints(catalog.db)
    finally:
        catalog.db.close()
    return {(r["host"] or "", r["method"], canonical(r["path"]))
            for r in endpoints.iter_rows(named=True) if r.get("count")}


def m2s_command() -> list[str] | None:
    script = Path(sys.executable).parent / "mitmproxy2swagger"
    if script.exists():
        return [str(script)]
    found = shutil.which("mitmproxy2swagger")
    if found:
        return [found]
    if version("mitmproxy2swagger"):
        return [sys.executable, "-m", "mitmproxy2swagger.mitmproxy2swagger"]
    return None


def accept_all(spec: Path) -> int:
    """The second-pass edit, automated: drop ``ignore:`` from every x-path-templates entry."""
    text = spec.read_text()
    edited, n = re.subn(r"^(\s*-\s+)ignore:", r"\1", text, flags=re.MULTILINE)
    spec.write_text(edited)
    return n


def part_m2s(har: Path, frame: Any, entries: int, har_rows: list[dict], workdir: Path, console: Console,
             install: bool) -> tuple[list[dict], list[str]]:
    notes = []
    truth_all, unmatched = ground_truth(frame)
    truth = {t for t in truth_all if t[0] == M2S_HOST}
    notes.append(f"part 3 truth: the {len(truth)} catalogue endpoints of {M2S_HOST} present in the HAR "
                 f"({len(truth_all)} on all hosts), parameters compared as {{}}; apisight's time is part 2's "
                 "HAR-file analyze + openapi (all hosts)")
    if unmatched:
        notes.append(f"{unmatched} distinct demo paths matched no catalogue template (left out of the truth)")
    rows: list[dict] = []
    har_row = next((r for r in har_rows if r["case"] == "HAR file"), None)
    if har_row:
        ours = ours_pairs(Path(har_row["data_dir"]))
        for scope, found, gt in [(M2S_HOST, {p for p in ours if p[0] == M2S_HOST}, truth), ("all hosts", ours, truth_all)]:
            rows.append({"tool": "apisight analyze + openapi", "variant": "no manual step", "scope": scope,
                         "seconds": har_row["seconds"], "entries_per_s": har_row["entries_per_s"],
                         "peak_rss_mb": har_row["peak_rss_mb"], **score(found, gt)})
    command = m2s_command()
    if command is None and install:
        console.print("[dim]installing mitmproxy2swagger (pip) ...[/]")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "mitmproxy2swagger"], check=False)
        command = m2s_command()
    if command is None:
        notes.append("mitmproxy2swagger is not installed (pip install mitmproxy2swagger, or --install): skipped")
        return rows, notes
    spec = workdir / "m2s-spec.yaml"
    spec.unlink(missing_ok=True)
    base = [*command, "-i", str(har), "-o", str(spec), "-p", f"https://{M2S_HOST}", "-f", "har"]
    console.print("[dim]part 3: mitmproxy2swagger pass 1 ...[/]")
    s1, rss1 = measure(base, workdir / "m2s-pass1.out")
    shutil.copy(spec, workdir / "m2s-spec-pass1.yaml")
    accepted = accept_all(spec)
    console.print(f"[dim]part 3: mitmproxy2swagger pass 2 ({accepted:,} x-path-templates entries accepted) ...[/]")
    s2, rss2 = measure(base, workdir / "m2s-pass2.out")
    import yaml

    doc = yaml.safe_load(spec.read_text())
    found = {(M2S_HOST, m.upper(), canonical(p)) for p, item in (doc.get("paths") or {}).items()
             for m in (item or {}) if m in HTTP_METHODS}
    suggestions = sum("{" in line for line in (workdir / "m2s-spec-pass1.yaml").read_text().splitlines()
                      if line.lstrip().startswith("- ignore:"))
    total = s1 + s2
    rows.append({"tool": f"mitmproxy2swagger {version('mitmproxy2swagger') or ''}".strip(),
                 "variant": "pass 1 + pass 2, all suggestions accepted", "scope": M2S_HOST,
                 "seconds": round(total, 3), "pass1_seconds": round(s1, 3), "pass2_seconds": round(s2, 3),
                 "entries_per_s": round(entries / total), "peak_rss_mb": round(max(rss1, rss2) / 2**20),
                 "x_path_templates_accepted": accepted, "suggested_templates": suggestions,
                 **score(found, truth)})
    notes.append(f"mitmproxy2swagger pass 1 {s1:.1f} s ({entries / s1:,.0f} entries/s) listed {accepted:,} "
                 f"x-path-templates entries ({suggestions} suggested {{id}} templates); pass 2 {s2:.1f} s")
    return rows, notes


def part_m2s_ours_only(frame: Any, har_rows: list[dict]) -> tuple[list[dict], list[str]]:
    """Part 3 without mitmproxy2swagger: apisight's quality only."""
    truth_all, _ = ground_truth(frame)
    row = next((r for r in har_rows if r["case"] == "HAR file"), None)
    if row is None:
        return [], []
    ours = ours_pairs(Path(row["data_dir"]))
    truth = {t for t in truth_all if t[0] == M2S_HOST}
    return [{"tool": "apisight analyze + openapi", "variant": "no manual step", "scope": scope,
             "seconds": row["seconds"], "entries_per_s": row["entries_per_s"], "peak_rss_mb": row["peak_rss_mb"],
             **score(found, gt)}
            for scope, found, gt in [(M2S_HOST, {p for p in ours if p[0] == M2S_HOST}, truth),
                                     ("all hosts", ours, truth_all)]], []


# -- output ----------------------------------------------------------------------------------


def yes(flag: bool) -> str:
    return "[green]yes[/]" if flag else "[red]no[/]"


def print_tables(result: dict) -> None:
    console = Console(width=None if sys.stdout.isatty() else 150)
    cpus = os.cpu_count()
    notes = list(result["notes"])
    if result["inventory_update"]:
        t = Table("CPUs", "events stored", "added", "new paths", "update s", "stored ev/s", "added ev/s",
                  "≥ 1M/s", "2nd run s", "RSS MB", title=f"1. Inventory update, already-known paths ({cpus} CPUs)")
        for r in result["inventory_update"]:
            label = f"{r['cpus']}\n[dim]DuckDB threads={r['duckdb_threads']}[/]"
            t.add_row(label, f"{r['events_stored']:,}", f"{r['events_added']:,}",
                      f"{r['new_paths_in_run']:,} / {r['distinct_paths_in_run']:,}", f"{r['update_seconds']}",
                      f"{r['events_stored_per_s']:,}", f"{r['events_added_per_s']:,}",
                      yes(r["target_met_stored"]) + "/" + yes(r["target_met_added"]),
                      f"{r['second_run_seconds']}", f"{r['second_run_peak_rss_mb']:,}")
            slow = ", ".join(f"{k} {v:.2f} s" for k, v in list(r["phases_seconds"].items())[:4])
            notes.append(f"inventory update, {r['cpus']}: slowest steps {slow}")
        console.print(t)
    if result.get("inventory_scaling"):
        t = Table("events stored", "added", "new paths", "update s", "added ev/s", "RSS MB",
                  title="1b. Inventory update of a run of --events/10 on top of 1x and 3x --events (one core)")
        for r in result["inventory_scaling"]:
            t.add_row(f"{r['events_stored']:,}", f"{r['events_added']:,}",
                      f"{r['new_paths_in_run']:,} / {r['distinct_paths_in_run']:,}", f"{r['update_seconds']}",
                      f"{r['events_added_per_s']:,}", f"{r['second_run_peak_rss_mb']:,}")
        console.print(t)
    if result["har_to_openapi"]:
        t = Table("input", "entries", "MB", "analyze s", "openapi s", "entries/s", "≥ 100k/s", "endpoints",
                  "ops", "RSS MB", title=f"2. HAR → inventory + OpenAPI, no manual step ({cpus} CPUs)")
        for r in result["har_to_openapi"]:
            t.add_row(r["case"], f"{r['entries']:,}", f"{r['bytes'] / 1e6:,.0f}", f"{r['analyze_seconds']}",
                      f"{r['openapi_seconds']}", f"{r['entries_per_s']:,}", yes(r["target_met"]),
                      str(r["endpoints"]), str(r["openapi_operations"]), f"{r['peak_rss_mb']:,}")
        console.print(t)
    if result["mitmproxy2swagger"]:
        t = Table("tool", "scope", "s", "entries/s", "pairs", "TP", "FP", "FN", "P", "R", "F1",
                  title="3. Same HAR file: (method, template) pairs vs the demo catalogue")
        for r in result["mitmproxy2swagger"]:
            t.add_row(r["tool"].split(" + ")[0], r["scope"].replace(".demobank.example", ".…"), f"{r['seconds']}",
                      f"{r['entries_per_s']:,}", str(r["pairs"]), str(r["tp"]), str(r["fp"]), str(r["fn"]),
                      f"{r['precision']:.2f}", f"{r['recall']:.2f}", f"{r['f1']:.2f}")
        console.print(t)
    for note in notes:
        console.print(f"[dim]note: {note}[/]")


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--_inventory-child":
        inventory_child(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), sys.argv[5] == "1")
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="nginx events per run in part 1 (0 to skip)")
    parser.add_argument("--har-entries", type=int, default=50_000, help="HAR entries in parts 2 and 3 (0 to skip)")
    parser.add_argument("--scaling", action="store_true",
                        help="part 1: also time a run of --events/10 on top of 1x and 3x --events stored")
    parser.add_argument("--no-mitmproxy2swagger", action="store_true", help="skip mitmproxy2swagger in part 3")
    parser.add_argument("--install", action="store_true", help="pip install mitmproxy2swagger if it is missing")
    parser.add_argument("--workdir", type=Path, default=None, help="where generated data goes (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    console = Console(stderr=True)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="apisight-discovery-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "versions": {d: version(d) for d in ("apisight", "duckdb", "polars", "mitmproxy2swagger")}},
        "command": " ".join(["python", "bench/discovery_speed.py", *sys.argv[1:]]),
        "inventory_update": [], "har_to_openapi": [], "mitmproxy2swagger": [], "notes": [],
    }
    if not has_openapi_command():
        result["notes"].append("`apisight openapi` not found: the export step calls build_openapi directly")
    try:
        if args.events:
            result["inventory_update"] = part_inventory(args.events, workdir, console)
            if args.scaling:
                result["inventory_scaling"] = part_scaling(args.events, workdir, console)
        if args.har_entries:
            har, harl, frame = write_captures(args.har_entries, workdir, console)
            result["har_to_openapi"] = part_har(har, harl, args.har_entries, workdir, console)
            if args.no_mitmproxy2swagger:
                result["notes"].append("mitmproxy2swagger skipped (--no-mitmproxy2swagger)")
                rows, notes = part_m2s_ours_only(frame, result["har_to_openapi"])
            else:
                rows, notes = part_m2s(har, frame, args.har_entries, result["har_to_openapi"], workdir, console,
                                       args.install)
            result["mitmproxy2swagger"] = rows
            result["notes"] += notes
            for r in result["har_to_openapi"]:
                r.pop("data_dir", None)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    OUT.mkdir(exist_ok=True)
    (OUT / "discovery_speed.json").write_text(json.dumps(result, indent=2))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print_tables(result)


if __name__ == "__main__":
    main()

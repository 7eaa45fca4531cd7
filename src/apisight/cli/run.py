"""Commands that run the pipeline (analyze, demo), with their progress bar and run summary."""

from __future__ import annotations

import re
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from apisight.cli.root import DataOpt, JsonOpt, WaitOpt, app, console, data_dir, err
from apisight.config import load_settings
from apisight.errors import ConfigError
from apisight.pipeline import Progress as RunProgress
from apisight.pipeline import RunRequest, analyze, check_inputs
from apisight.readers import registry
from apisight.readers.base import ReaderOptions
from apisight.sources import DecompressionLimits


@app.command("analyze")
def analyze_cmd(
    paths: Annotated[list[str], typer.Argument(help="Files, directories, .gz files, or - for stdin.")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="Input format, or auto to detect it from the first lines.")
    ] = "auto",
    log_format: Annotated[
        str | None,
        typer.Option("--log-format", help="Your nginx log_format string (implies --format nginx)."),
    ] = None,
    field_map: Annotated[
        list[str] | None,
        typer.Option("--map", help="For --format jsonl: FIELD=JSONPATH, e.g. ts=$.time (repeatable)."),
    ] = None,
    spec: Annotated[
        list[Path] | None, typer.Option("--spec", help="OpenAPI document(s) to compare against (repeatable).")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Settings file (YAML).")] = None,
    data: DataOpt = None,
    wait_seconds: WaitOpt = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Read traffic records, store them as events, and summarise what was seen.

    A record already stored (the same file read again, overlapping rotations) is not
    stored twice; a run is kept whole or not at all.

    Examples:

      apisight analyze /var/log/nginx/access.log*

      apisight analyze --log-format '$remote_addr [$time_local] "$request" $status $request_time' edge.log

      zcat alb/*.gz | apisight analyze - --format alb --json

      apisight analyze app.jsonl --format jsonl --map ts=$.time --map path=$.req.url --map status=$.res.code
    """
    root = data_dir(data)
    check_inputs(paths)
    for s in spec or []:
        if not s.is_file():
            raise ConfigError(f"--spec {s}: file not found")
    settings = load_settings(config, root)
    mapping = _parse_map(field_map or [])
    options = ReaderOptions(
        log_format=log_format,
        field_map=mapping,
        max_line_bytes=settings.capture.max_line_bytes,
        decompression=DecompressionLimits(settings.capture.max_decompressed_bytes, settings.capture.max_expansion),
    )
    if fmt != "auto" and fmt not in registry.names():
        raise ConfigError(f"unknown format {fmt!r}; installed formats: {', '.join(registry.names())}")
    specs = [*(Path(p) for p in settings.discovery.specs), *(spec or [])]
    request = RunRequest(list(paths), root, settings, fmt, options, specs=specs, wait_seconds=wait_seconds)
    summary = _run_with_progress(request, quiet=as_json)
    _print_summary(summary, as_json)


@app.command("demo")
def demo_cmd(
    directory: Annotated[Path, typer.Option("--dir", help="Where the demo's traffic and data go.")] = Path(
        "apisight-demo"
    ),
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same bank.")] = 7,
    scale: Annotated[
        float, typer.Option(help="Traffic volume relative to the default (~100k requests).")
    ] = 1.0,
    as_json: JsonOpt = False,
) -> None:
    """Generate a realistic bank's API traffic (with labelled attacks) and analyse it.

    Needs no data of your own. Running it again regenerates the same traffic and
    replaces the demo's data directory.

    Example: apisight demo --dir /tmp/demo && apisight query --data /tmp/demo/data "SELECT host, count(*) FROM events GROUP BY 1"
    """
    from apisight.demo import generate_demo
    from apisight.demo.analysis import demo_request

    inputs = directory / "input"
    root = directory / "data"
    if not as_json:
        err.print(f"[bold]Generating DemoBank traffic[/] into {escape(str(inputs))} (seed {seed}) ...")
    if inputs.exists():
        shutil.rmtree(inputs)
    if root.exists():
        shutil.rmtree(root)
    manifest = generate_demo(inputs, seed=seed, scale=scale)
    request = demo_request(manifest, root)
    summary = _run_with_progress(request, quiet=as_json)
    summary["demo"] = {
        "input_dir": str(inputs),
        "specs": [str(p) for p in manifest.specs],
        "labels": str(manifest.labels),
    }
    _print_summary(summary, as_json)
    if not as_json:
        console.print("\nNext:", markup=False)
        for command in (
            f"apisight inventory --data {root} --status shadow",
            f"apisight drift --data {root} --spec {manifest.specs[0]}",
            f"apisight data --data {root}",
            f"apisight flows --data {root} --type card_number",
            f"apisight findings --data {root} --severity high",
            f"apisight alerts --data {root}",
            f"apisight incidents --data {root}",
            f"apisight timeline 203.0.113.0/24 --data {root}",
            (
                f'apisight query --data {root} "SELECT client_ip, count(*) n FROM events WHERE status = 401 '
                'GROUP BY 1 ORDER BY n DESC LIMIT 5"'
            ),
        ):
            console.print(f"  {command}", markup=False, highlight=False)


_JSONPATH = re.compile(r"\$(?:\.[A-Za-z0-9_@$-]+|\[\d+\]|\['[^']+'\]|\[\"[^\"]+\"\])+")


def _parse_map(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not _JSONPATH.fullmatch(path.strip()):
            raise ConfigError(
                f"--map {item!r}: expected FIELD=JSONPATH with keys and indexes, e.g. ts=$.time or "
                "ip=$.client['x-real-ip'] or first=$.items[0]"
            )
        mapping[name.strip()] = path.strip()
    return mapping


def _run_with_progress(request: RunRequest, quiet: bool) -> dict[str, Any]:
    if quiet or not err.is_terminal:
        return analyze(request)
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("Analysing", total=None, stats="")
        started = datetime.now()

        def update(p: RunProgress) -> None:
            seconds = max((datetime.now() - started).total_seconds(), 1e-6)
            stats = (
                f"{p.records:,} records  {p.records / seconds:,.0f}/s  "
                f"{p.bytes_done / seconds / 1e6:,.1f} MB/s  malformed {p.malformed:,}"
            )
            bar.update(
                task,
                total=p.total_bytes,
                completed=p.bytes_done,
                stats=stats,
                description=Path(p.current).name,
            )

        return analyze(request, on_progress=update)


def _print_summary(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(summary, default=str).decode() + "\n")
        return
    print_recovered(summary.get("recovered", []))
    if summary.get("lost_files"):
        err.print(f"{len(summary['lost_files'])} stored file(s) had been deleted from the data directory by hand; "
                  f"their events are no longer counted (first: {summary['lost_files'][0]}).",
                  markup=False, highlight=False)
    for known in summary.get("already_read", []):
        console.print(f"Already read: {known['file']} (run {known['run_id']}, {str(known['read_at'])[:19]}); "
                      "skipped.", markup=False, highlight=False)
    if summary["records"] == 0 and summary["malformed"]["total"] == 0:
        if not summary.get("already_read"):
            console.print("No records found in the inputs (they are empty). Nothing was stored.")
        return
    table = Table(title=f"Run {summary['run_id']}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("records", f"{summary['records']:,}")
    if summary.get("duplicates"):
        table.add_row("stored", f"{summary['stored']:,}  ({summary['duplicates']:,} already stored, left out)")
    table.add_row("malformed", f"{summary['malformed']['total']:,}")
    table.add_row("sources", escape(", ".join(f"{k} ({v:,})" for k, v in summary["sources"].items())))
    table.add_row("hosts", f"{summary['hosts']:,}")
    inventory = summary.get("inventory")
    if inventory:
        table.add_row(
            "API endpoints",
            f"{inventory['endpoints']:,}  (documented {inventory['documented']}, shadow {inventory['shadow']}, "
            f"zombie {inventory['zombie']}, unused {inventory['unused']}; {inventory['new_endpoints']} new)",
        )
    table.add_row("distinct raw paths", f"{summary['endpoints']:,}")
    table.add_row("clients", f"{summary['clients']:,}")
    table.add_row("time span (UTC)", _span(summary["first_event"], summary["last_event"]))
    if summary.get("sensitive"):
        found = ", ".join(f"{t} {v['distinct_values']:,}" for t, v in list(summary["sensitive"].items())[:6])
        table.add_row("sensitive data (distinct values)", escape(found) + "  (apisight data)")
    open_findings = summary.get("findings", {}).get("open")
    if open_findings:
        table.add_row("open posture findings", f"{open_findings:,}  (apisight findings)")
    raised = {k: v for k, v in summary.get("alerts", {}).items() if v}
    if raised:
        table.add_row(
            "new alerts", escape(", ".join(f"{k} {v}" for k, v in raised.items())) + "  (apisight alerts)"
        )
    detection = summary.get("detection")
    if detection and (detection["incidents"] or detection["api_changes"]):
        table.add_row("incidents, API changes", f"{detection['incidents']:,} incidents (apisight incidents), "
                      f"{detection['api_changes']:,} API changes recorded (table api_changes)")
    if detection and (detection["late"] or detection.get("future")):
        table.add_row(
            "left out of detection",
            f"{detection['late']:,} late (apisight detect --replay), "
            f"{detection.get('future', 0):,} dated in the future",
        )
    table.add_row("speed", f"{summary['records_per_second']:,} records/s in {summary['seconds']} s")
    table.add_row("stored in", escape(summary["data_dir"]))
    console.print(table)
    if summary["top_hosts"]:
        hosts = Table("host", "records", title="Hosts", title_justify="left")
        for h in summary["top_hosts"]:
            hosts.add_row(escape(str(h["host"] or "(unknown)")), f"{h['records']:,}")
        console.print(hosts)
    bad = summary["malformed"]
    if bad["total"]:
        errors = Table(
            "file", "line", "problem", title="Malformed records (first ones)", title_justify="left"
        )
        for e in bad["examples"]:
            errors.add_row(escape(Path(e["file"]).name), str(e["line_no"]), escape(e["reason"]))
        console.print(errors)
        console.print(
            f"Malformed records were set aside in {bad['quarantine_file']} (secrets scrubbed).", markup=False
        )
    for skip in summary.get("skipped", []):
        err.print(f"skipped {skip['file']}: {skip['reason']}", markup=False, highlight=False)
    if summary["retention"]["removed_days"]:
        console.print(f"Retention removed {len(summary['retention']['removed_days'])} day(s) of old events.")


def print_recovered(recovered: list[dict[str, Any]]) -> None:
    """Say what became of runs found interrupted (killed, crashed) before this one."""
    for run in recovered:
        who = f"`apisight {run.get('command', '?')}` (run {run['run_id']}, pid {run.get('pid', '?')}, " \
              f"started {run.get('started_at', '?')})"
        if run["action"] == "rolled back":
            err.print(f"An interrupted {who} was found and rolled back: none of its records were kept "
                      f"({run['files_removed']} file(s) removed). Run it again to read its inputs; records "
                      "already stored are skipped.", markup=False, highlight=False)
        else:
            err.print(f"An interrupted {who} had committed; its clean-up was finished.", markup=False,
                      highlight=False)


def _span(first: str | None, last: str | None) -> str:
    """``2026-11-24 23:59 → 2026-11-27 23:59 (3.0 days)`` from the summary's ISO times."""
    if not first or not last:
        return "—"
    try:
        start, end = datetime.fromisoformat(str(first)), datetime.fromisoformat(str(last))
    except ValueError:
        return f"{first} → {last}"
    hours = (end - start).total_seconds() / 3600
    length = f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} h"
    return f"{start:%Y-%m-%d %H:%M:%S} → {end:%Y-%m-%d %H:%M:%S} ({length})"

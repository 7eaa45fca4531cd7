"""The command line: commands only, no logic. Everything prints through here."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from apisight import __version__
from apisight.config import CONFIG_NAME, STARTER_CONFIG, load_settings
from apisight.detect import registry as detector_registry
from apisight.detect.engine import run_detection
from apisight.discovery.reports import SPEC_STATUSES, drift_rows, inventory_rows, observed_openapi
from apisight.discovery.spec import load_spec
from apisight.errors import ApisightError, ConfigError
from apisight.pipeline import Progress as RunProgress
from apisight.pipeline import RunRequest, analyze, check_inputs, new_run_id
from apisight.posture import assess_logs
from apisight.readers import registry
from apisight.readers.base import ReaderOptions
from apisight.store import Catalog
from apisight.store import sensitive as sensitive_store
from apisight.store.alerts import load_alerts, load_incidents
from apisight.store.findings import load_findings
from apisight.store.timeline import entity_event_count, entity_events

try:  # typer >= 0.26 vendors click; older ones depend on it
    from typer._click.exceptions import ClickException as UsageProblem
except ImportError:  # pragma: no cover - depends on the installed typer
    from click.exceptions import ClickException as UsageProblem  # type: ignore[assignment]

DATA_ENV = "APISIGHT_DATA"
_STATUS_STYLE = {"shadow": "[yellow]", "zombie": "[red]", "unused": "[dim]", "documented": "[green]"}
DEFAULT_DATA = "apisight-data"

app = typer.Typer(
    name="apisight",
    help="API security analytics from the traffic records you already keep.\n\n"
    "Start with `apisight demo`, then `apisight analyze /var/log/nginx/access.log`.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
console = Console()
err = Console(stderr=True)
_debug = False

DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help=f"Data directory (default ./{DEFAULT_DATA}, or ${DATA_ENV}).", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON document on stdout, for machines.")]


def data_dir(data: Path | None) -> Path:
    return data or Path(os.environ.get(DATA_ENV, DEFAULT_DATA))


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    global _debug
    _debug = debug
    if version:
        console.print(f"apisight {__version__}")
        raise typer.Exit()


@app.command("analyze")
def analyze_cmd(
    paths: Annotated[list[str], typer.Argument(help="Files, directories, .gz files, or - for stdin.")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="Input format, or auto to detect it from the first lines.")
    ] = "auto",
    log_format: Annotated[
        str | None, typer.Option("--log-format", help="Your nginx log_format string (implies --format nginx).")
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
    as_json: JsonOpt = False,
) -> None:
    """Read traffic records, store them as events, and summarise what was seen.

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
    )
    if fmt != "auto" and fmt not in registry.names():
        raise ConfigError(f"unknown format {fmt!r}; installed formats: {', '.join(registry.names())}")
    specs = [*(Path(p) for p in settings.discovery.specs), *(spec or [])]
    request = RunRequest(list(paths), root, settings, fmt, options, specs=specs)
    summary = _run_with_progress(request, quiet=as_json)
    _print_summary(summary, as_json)


@app.command("demo")
def demo_cmd(
    directory: Annotated[Path, typer.Option("--dir", help="Where the demo's traffic and data go.")] = Path(
        "apisight-demo"
    ),
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same bank.")] = 7,
    scale: Annotated[float, typer.Option(help="Traffic volume relative to the default (~100k requests).")] = 1.0,
    as_json: JsonOpt = False,
) -> None:
    """Generate a realistic bank's API traffic (with labelled attacks) and analyse it.

    Needs no data of your own. Running it again regenerates the same traffic and
    replaces the demo's data directory.

    Example: apisight demo --dir /tmp/demo && apisight query --data /tmp/demo/data "SELECT host, count(*) FROM events GROUP BY 1"
    """
    from apisight.demo import generate_demo

    inputs = directory / "input"
    root = directory / "data"
    if not as_json:
        err.print(f"[bold]Generating DemoBank traffic[/] into {escape(str(inputs))} (seed {seed}) ...")
    if inputs.exists():
        shutil.rmtree(inputs)
    if root.exists():
        shutil.rmtree(root)
    manifest = generate_demo(inputs, seed=seed, scale=scale)
    per_file = {
        str(f.path): (f.format, ReaderOptions(log_format=f.log_format)) for f in manifest.files
    }
    root.mkdir(parents=True)
    if manifest.config is not None:
        shutil.copy(manifest.config, root / CONFIG_NAME)  # later commands on this data use it too
    settings = load_settings(None, root)
    request = RunRequest(
        [str(f.path) for f in manifest.files], root, settings, per_file_options=per_file, specs=list(manifest.specs)
    )
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
            (f'apisight query --data {root} "SELECT client_ip, count(*) n FROM events WHERE status = 401 '
            'GROUP BY 1 ORDER BY n DESC LIMIT 5"'),
        ):
            console.print(f"  {command}", markup=False, highlight=False)


@app.command("query")
def query_cmd(
    sql: Annotated[str, typer.Argument(help="DuckDB SQL. Tables: events (a view over all stored events), runs, run_files.")],
    out: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    data: DataOpt = None,
) -> None:
    """Run SQL over the stored data.

    Examples:

      apisight query "SELECT client_ip, count(*) n FROM events WHERE status = 401 GROUP BY 1 ORDER BY n DESC LIMIT 20"

      apisight query --format csv "SELECT * FROM events WHERE principal = 'cust-1042'" > timeline.csv
    """
    if out not in ("table", "json", "csv"):
        raise ConfigError(f"--format {out!r}: use table, json or csv")
    with Catalog(data_dir(data), read_only=True) as catalog:
        result = catalog.query(sql)
    if out == "json":
        rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        sys.stdout.write(orjson.dumps(rows, default=str, option=orjson.OPT_NON_STR_KEYS).decode() + "\n")
    elif out == "csv":
        buffer = io.StringIO()
        w = csv.writer(buffer)
        w.writerow(result.columns)
        w.writerows(result.rows)
        sys.stdout.write(buffer.getvalue())
    else:
        table = Table(*result.columns, show_lines=False)
        for row in result.rows:
            table.add_row(*("" if v is None else escape(str(v)) for v in row))
        console.print(table)
        console.print(f"[dim]{len(result.rows)} row(s)[/]")


@app.command("inventory")
def inventory_cmd(
    status: Annotated[
        str | None, typer.Option("--status", help="documented, shadow, zombie or unused.")
    ] = None,
    host: Annotated[str | None, typer.Option("--host", help="Only this host.")] = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The API inventory: every endpoint seen (and every documented one), with its spec status.

    Examples:

      apisight inventory --status shadow

      apisight inventory --host api.example.com --json | jq '.[] | select(.auth.none > 0)'
    """
    if status is not None and status not in SPEC_STATUSES:
        raise ConfigError(f"--status {status!r}: use one of {', '.join(SPEC_STATUSES)}")
    with Catalog(data_dir(data), read_only=True) as catalog:
        endpoints = inventory_rows(catalog, status=status, host=host)
    if as_json:
        sys.stdout.write(orjson.dumps(endpoints, default=str).decode() + "\n")
        return
    if not endpoints:
        console.print("No endpoints match." if (status or host) else "No inventory yet: run `apisight analyze` first.")
        return
    table = Table("status", "method", "host", "endpoint", "role", "requests", "clients", "auth", "last seen", "drift",
                  title=f"API inventory ({len(endpoints)} endpoints)", title_justify="left")
    for e in endpoints:
        auth = ", ".join(f"{k} {v:,}" for k, v in sorted(e["auth"].items(), key=lambda kv: -kv[1]))
        table.add_row(
            _STATUS_STYLE.get(e["spec_status"], "") + escape(e["spec_status"]),
            escape(e["method"]),
            escape(e["host"] or "(unknown)"),
            escape(e["path"]),
            escape(e.get("role") or ""),
            f"{e['count']:,}",
            f"{e['clients'] or 0:,}",
            escape(auth),
            str(e["last_seen"] or "")[:19],
            str(len(e["drift"])) if e["drift"] else "",
        )
    console.print(table)


@app.command("drift")
def drift_cmd(
    spec: Annotated[Path, typer.Option("--spec", help="The OpenAPI (or Swagger 2.0) document to compare with.")],
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare the stored traffic with one spec: shadow, zombie and unused endpoints, and drift.

    Example: apisight drift --spec openapi/payments.yaml --json
    """
    parsed = load_spec(spec)
    with Catalog(data_dir(data), read_only=True) as catalog:
        rows = drift_rows(catalog, parsed)
    if as_json:
        sys.stdout.write(orjson.dumps(rows, default=str).decode() + "\n")
        return
    table = Table("status", "method", "endpoint", "requests", "drift", title=f"{spec} against observed traffic",
                  title_justify="left", show_lines=True)
    for r in rows:
        by_kind: dict[str, list[str]] = {}
        for d in r["drift"]:
            by_kind.setdefault(d["kind"].replace("_", " "), []).append(d["detail"])
        details = "\n".join(f"{kind}: {', '.join(items)}" for kind, items in by_kind.items())
        table.add_row(_STATUS_STYLE.get(r["spec_status"], "") + escape(r["spec_status"]), escape(r["method"]),
                      escape(r["path"]), f"{r['count'] or 0:,}", escape(details))
    console.print(table)
    for w in parsed.warnings[:5]:
        err.print(f"spec warning: {w}", markup=False, highlight=False)


@app.command("openapi")
def openapi_cmd(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (.json for JSON, else YAML); default stdout.")
    ] = None,
    host: Annotated[str | None, typer.Option("--host", help="Only this host.")] = None,
    api_key_header: Annotated[
        str, typer.Option("--api-key-header", help="Header name to document for API keys.")
    ] = "X-API-Key",
    data: DataOpt = None,
) -> None:
    """Write an OpenAPI 3.1 document of the API as observed (validated before it is written).

    Examples:

      apisight openapi -o observed.yaml

      apisight openapi --host api.example.com -o api.json
    """
    with Catalog(data_dir(data), read_only=True) as catalog:
        document = observed_openapi(catalog, host=host, api_key_header=api_key_header)
    text = (
        orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
        if output is not None and output.suffix == ".json"
        else yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    )
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    err.print(f"Wrote {output}: {len(document['paths'])} paths.", markup=False)


@app.command("data")
def data_cmd(
    type_: Annotated[str | None, typer.Option("--type", help="Only this type, e.g. card_number, iban, us_ssn.")] = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The sensitive-data map: which endpoints carry which types, where, and how many values.

    Values are never shown: only masked previews and counts of distinct values
    (by keyed fingerprint).

    Example: apisight data --type card_number --json
    """
    with Catalog(data_dir(data), read_only=True) as catalog:
        rows = sensitive_store.data_map(catalog.db, type_).to_dicts()
    if as_json:
        sys.stdout.write(orjson.dumps(rows, default=str).decode() + "\n")
        return
    if not rows:
        console.print("No sensitive data found (yet).")
        return
    table = Table("type", "dir", "method", "endpoint", "fields", "events", "distinct", "no auth", "http",
                  title="Sensitive data map", title_justify="left")
    for r in rows:
        table.add_row(escape(r["type"]), r["direction"], r["method"], escape(f"{r['host']}{r['path']}"),
                      escape(", ".join(r["fields"][:3]) + (" …" if len(r["fields"]) > 3 else "")),
                      f"{r['events']:,}", f"{r['distinct_values']:,}",
                      f"{r['without_auth']:,}" if r["without_auth"] else "",
                      f"{r['over_plaintext']:,}" if r["over_plaintext"] else "")
    console.print(table)


@app.command("flows")
def flows_cmd(
    type_: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    direction: Annotated[
        str, typer.Option("--direction", help="response (who received it), request (who sent it), query, path.")
    ] = "response",
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Who receives sensitive data: per type and endpoint, each client and its distinct values.

    Example: apisight flows --type card_number
    """
    if direction not in ("response", "request", "query", "path"):
        raise ConfigError(f"--direction {direction!r}: use response, request, query or path")
    with Catalog(data_dir(data), read_only=True) as catalog:
        rows = sensitive_store.flows(catalog.db, direction, type_).to_dicts()
    if as_json:
        sys.stdout.write(orjson.dumps(rows, default=str).decode() + "\n")
        return
    if not rows:
        console.print("No sensitive data flows found (yet).")
        return
    table = Table("type", "endpoint", "client", "network", "IPs", "distinct values", "events",
                  title=f"Sensitive data flows ({direction})", title_justify="left")
    for r in rows[:200]:
        table.add_row(escape(r["type"]), escape(f"{r['method']} {r['host']}{r['path']}"), escape(str(r["client"])),
                      escape(str(r["network"] or "")), f"{r['client_ips']:,}", f"{r['distinct_values']:,}",
                      f"{r['events']:,}")
    console.print(table)
    if len(rows) > 200:
        console.print(f"… {len(rows) - 200} more rows (use --json or --type)", markup=False)


@app.command("alerts")
def alerts_cmd(
    detector: Annotated[str | None, typer.Option("--detector", help="Only this detector (or dlp).")] = None,
    entity: Annotated[str | None, typer.Option("--entity", help="Only alerts about or involving this entity.")] = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Alerts raised so far, newest first: behavioural detectors and DLP thresholds.

    Each alert has its entity, event-time span, endpoints, evidence with sample event
    ids (fetch them with `apisight query`), OWASP API Top 10 and MITRE ATT&CK mappings,
    and the incident it belongs to.

    Examples: apisight alerts --detector bola --json | apisight alerts --entity 203.0.113.0/24
    """
    with Catalog(data_dir(data), read_only=True) as catalog:
        rows = load_alerts(catalog.db, detector=detector, entity=entity).to_dicts()
    for r in rows:
        for key in ("endpoints", "evidence", "sample_event_ids", "related", "limits", "owasp", "mitre"):
            if isinstance(r.get(key), str):
                r[key] = orjson.loads(r[key])
        r["start"], r["end"] = r["first_seen"], r["last_seen"]
    if as_json:
        sys.stdout.write(orjson.dumps(rows, default=str).decode() + "\n")
        return
    if not rows:
        console.print("No alerts." if not (detector or entity) else "No alerts match.")
        return
    table = Table(title=f"Alerts ({len(rows)})", title_justify="left", show_lines=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("detector / entity", overflow="fold", max_width=28)
    table.add_column("when (event time)", no_wrap=True)
    table.add_column("what", overflow="fold", ratio=1)
    for r in rows:
        what = escape(r["summary"]) + "".join(f"\n[dim]not seen: {escape(limit)}[/]" for limit in r["limits"] or [])
        if r.get("incident_id"):
            what += f"\n[dim]incident {escape(r['incident_id'])}[/]"
        span = r["last_seen"] - r["first_seen"]
        table.add_row(escape(r["severity"]), f"[bold]{escape(r['detector'])}[/]\n{escape(r['entity_kind'])} "
                      f"{escape(str(r['entity']))}", f"{str(r['first_seen'])[:16]}\nfor {_duration(span.total_seconds())}",
                      what)
    console.print(table)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@app.command("incidents")
def incidents_cmd(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Related alerts grouped: same or linked entities (address, token, principal) within a day.

    Example: apisight incidents --json
    """
    with Catalog(data_dir(data), read_only=True) as catalog:
        rows = load_incidents(catalog.db).to_dicts()
    for r in rows:
        for key in ("detectors", "entities"):
            if isinstance(r.get(key), str):
                r[key] = orjson.loads(r[key])
    if as_json:
        sys.stdout.write(orjson.dumps(rows, default=str).decode() + "\n")
        return
    if not rows:
        console.print("No incidents.")
        return
    table = Table("severity", "incident", "alerts", "when (event time)", "what", title=f"Incidents ({len(rows)})",
                  title_justify="left")
    for r in rows:
        table.add_row(escape(r["severity"]), escape(r["id"]), str(r["alerts"]),
                      f"{str(r['first_seen'])[:19]} → {str(r['last_seen'])[:19]}", escape(r["summary"]))
    console.print(table)


@app.command("timeline")
def timeline_cmd(
    entity: Annotated[str, typer.Argument(help="An address, /24 network, principal, key id, token or account "
                                               "fingerprint, user agent or partner, as alerts show it.")],
    limit: Annotated[int, typer.Option("--limit", help="Most recent events shown.", min=1)] = 200,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One entity's events and alerts in time order, for investigation.

    Example: apisight timeline 203.0.113.0/24 --limit 50
    """
    with Catalog(data_dir(data), read_only=True) as catalog:
        events = entity_events(catalog.db, entity, limit)
        total = entity_event_count(catalog.db, entity)
        alerts = load_alerts(catalog.db, entity=entity)
    items = [{"ts": r["ts"], "type": "event", **r} for r in events.to_dicts()]
    items += [{"ts": a["first_seen"], "type": "alert", "id": a["id"], "detector": a["detector"],
               "severity": a["severity"], "summary": a["summary"], "end": a["last_seen"]} for a in alerts.to_dicts()]
    items.sort(key=lambda i: (i["ts"], i["type"] == "event"))
    if as_json:
        sys.stdout.write(orjson.dumps({"entity": entity, "events_total": total, "items": items},
                                      default=str).decode() + "\n")
        return
    if not items:
        console.print(f"Nothing stored about {escape(entity)}.")
        return
    table = Table("time", "", "what", "status", "client", title=f"Timeline of {escape(entity)} ({total:,} events, "
                  f"{alerts.height} alerts{'; newest ' + str(limit) + ' events shown' if total > limit else ''})",
                  title_justify="left")
    for i in items:
        if i["type"] == "alert":
            table.add_row(str(i["ts"])[:23], "[bold red]ALERT[/]", escape(f"{i['detector']}: {i['summary']}"),
                          escape(i["severity"]), "")
        else:
            who = i["principal"] or i["api_key_id"] or i["client_ip"] or ""
            table.add_row(str(i["ts"])[:23], "", escape(f"{i['method']} {i['host'] or ''}{i['path']}"),
                          str(i["status"]), escape(str(who)))
    console.print(table)


@app.command("detect")
def detect_cmd(
    replay: Annotated[bool, typer.Option("--replay", help="Start from empty state and re-run over all stored "
                                                          "events (alerts already raised are not repeated).")] = False,
    config: Annotated[Path | None, typer.Option("--config", help="Settings file (default: <data>/apisight.yaml).",
                                                show_default=False)] = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the detectors over the stored events (analyze does this for each run's new events).

    Use --replay after changing detector settings, or for records that arrived later
    than the allowed lateness.

    Example: apisight detect --replay --json
    """
    root = data_dir(data)
    settings = load_settings(config, root)
    with Catalog(root, read_only=True) as catalog:
        files = catalog.event_files()
    if not replay:
        raise ConfigError("nothing to do: analyze runs detection on new events; use --replay to re-run it over "
                          "all stored events")
    with Catalog(root) as catalog:
        summary = run_detection(catalog, files, settings, "replay-" + new_run_id(), replay=True)
    if as_json:
        sys.stdout.write(orjson.dumps(summary, default=str).decode() + "\n")
        return
    console.print(f"Replayed detection over {summary['events']:,} events in {summary['seconds']} s: "
                  f"{summary['new_alerts']} new alert(s), {summary['incidents']} incident(s), "
                  f"{summary['api_changes']} API change(s) recorded.", markup=False)


@app.command("detectors")
def detectors_cmd(as_json: JsonOpt = False) -> None:
    """The installed detectors, what they map to, and their settings (detect.detectors.<name>)."""
    rows: list[dict[str, Any]] = [
        {"name": name, "title": cls.title, "owasp": list(cls.owasp), "mitre": list(cls.mitre),
         "options": cls.settings_model().model_dump()}
        for name, cls in sorted(detector_registry.available().items())
    ]
    if as_json:
        sys.stdout.write(orjson.dumps(rows).decode() + "\n")
        return
    table = Table("detector", "what", "OWASP", "ATT&CK", "settings (defaults)", show_lines=True)
    for r in rows:
        table.add_row(r["name"], escape(r["title"]), ", ".join(r["owasp"]), ", ".join(r["mitre"]),
                      escape(", ".join(f"{k}={v}" for k, v in r["options"].items())))
    console.print(table)


@app.command("logs")
def logs_cmd(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """How good are the logs? Fields present per source and host, proxies posing as clients,
    clock problems, what each gap prevents, the setting that fixes it, and a maturity level.

    Example: apisight logs --json
    """
    with Catalog(data_dir(data), read_only=True) as catalog:
        report = assess_logs(catalog)
    if as_json:
        sys.stdout.write(orjson.dumps(report.as_dict(), default=str).decode() + "\n")
        return
    streams = Table("source", "host", "events", "client IP", "identity", "latency", "bodies", "time precision",
                    title="Log sources", title_justify="left")
    for st in report.streams:
        def rate(name: str, st: Any = st) -> str:
            field = st.field(name)
            return "" if field is None else f"{field.rate:.0%}"
        streams.add_row(escape(st.source), escape(st.host or "(none)"), f"{st.events:,}",
                        f"{rate('client_ip')} {st.client_addresses.verdict}", rate("identity"), rate("latency"),
                        rate("bodies"), st.timestamp_precision)
    console.print(streams)
    for gap in report.gaps:
        console.print(f"\n[bold]{escape(gap.severity)}[/] {escape(gap.title)} — {escape(gap.source)} {escape(gap.host or '')}")
        console.print(f"  evidence: {gap.evidence}", markup=False, highlight=False)
        console.print(f"  prevents: {gap.prevents}", markup=False, highlight=False)
        for fix in gap.fixes[:2]:
            console.print(f"  fix ({fix.where}): {fix.setting}", markup=False, highlight=False)
    m = report.maturity
    console.print(f"\nMaturity: level {m.level} — {escape(m.stage)}")
    for reason in m.reasons:
        console.print(f"  {reason}", markup=False, highlight=False)


@app.command("findings")
def findings_cmd(
    severity: Annotated[str | None, typer.Option("--severity", help="low, medium, high or critical.")] = None,
    owasp: Annotated[str | None, typer.Option("--owasp", help="An OWASP API Top 10 category, e.g. API2.")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Include resolved findings.")] = False,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Posture findings (OWASP API Security Top 10 2023), each with evidence and a fix.

    A finding stays one finding while it persists and is resolved when a later run's
    evidence no longer shows it.

    Example: apisight findings --owasp API2 --json
    """
    with Catalog(data_dir(data), read_only=True) as catalog:
        rows = load_findings(catalog.db, severity=severity, owasp=owasp, status=None if show_all else "open").to_dicts()
    for r in rows:
        r["evidence"] = orjson.loads(r["evidence"]) if isinstance(r.get("evidence"), str) else r.get("evidence")
    if as_json:
        sys.stdout.write(orjson.dumps(rows, default=str).decode() + "\n")
        return
    if not rows:
        console.print("No open findings." if not show_all else "No findings.")
        return
    table = Table("severity", "check", "OWASP", "endpoint", "events", "last seen", "fix",
                  title=f"Posture findings ({len(rows)})", title_justify="left", show_lines=True)
    for r in rows:
        table.add_row(escape(r["severity"]), escape(r["check"]), escape(str(r["owasp"]).split(" ")[0]),
                      escape(f"{r['method']} {r['host']}{r['path']}"), f"{r['events'] or 0:,}",
                      str(r["last_seen"])[:19], escape(r["remediation"]))
    console.print(table)


@app.command("init")
def init_cmd(
    data: DataOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config.")] = False,
) -> None:
    """Write a commented starting config (apisight.yaml) into the data directory."""
    root = data_dir(data)
    path = root / CONFIG_NAME
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists (use --force to overwrite)")
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(STARTER_CONFIG, encoding="utf-8")
    console.print(f"Wrote {path}. Every setting is optional; edit what you need.", markup=False)


@app.command("formats")
def formats_cmd(as_json: JsonOpt = False) -> None:
    """List the input formats apisight can read."""
    rows = [(name, getattr(registry.reader_classes()[name], "description", "")) for name in registry.names()]
    if as_json:
        sys.stdout.write(orjson.dumps([{"name": n, "description": d} for n, d in rows]).decode() + "\n")
        return
    table = Table("format", "what it reads")
    for n, d in rows:
        table.add_row(n, d)
    console.print(table)


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
            bar.update(task, total=p.total_bytes, completed=p.bytes_done, stats=stats, description=Path(p.current).name)

        return analyze(request, on_progress=update)


def _print_summary(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(summary, default=str).decode() + "\n")
        return
    if summary["records"] == 0 and summary["malformed"]["total"] == 0:
        console.print("No records found in the inputs (they are empty). Nothing was stored.")
        return
    table = Table(title=f"Run {summary['run_id']}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("records", f"{summary['records']:,}")
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
    table.add_row("time span", f"{summary['first_event']} → {summary['last_event']}")
    if summary.get("sensitive"):
        found = ", ".join(f"{t} {v['distinct_values']:,}" for t, v in list(summary["sensitive"].items())[:6])
        table.add_row("sensitive data (distinct values)", escape(found) + "  (apisight data)")
    open_findings = summary.get("findings", {}).get("open")
    if open_findings:
        table.add_row("open posture findings", f"{open_findings:,}  (apisight findings)")
    raised = {k: v for k, v in summary.get("alerts", {}).items() if v}
    if raised:
        table.add_row("new alerts", escape(", ".join(f"{k} {v}" for k, v in raised.items())) + "  (apisight alerts)")
    detection = summary.get("detection")
    if detection and (detection["duplicates"] or detection["late"] or detection.get("future")):
        table.add_row("left out of detection", f"{detection['duplicates']:,} duplicate, {detection['late']:,} late "
                      f"(apisight detect --replay), {detection.get('future', 0):,} dated in the future")
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
        errors = Table("file", "line", "problem", title="Malformed records (first ones)", title_justify="left")
        for e in bad["examples"]:
            errors.add_row(escape(Path(e["file"]).name), str(e["line_no"]), escape(e["reason"]))
        console.print(errors)
        console.print(f"Malformed records were set aside in {bad['quarantine_file']} (secrets scrubbed).", markup=False)
    for skip in summary.get("skipped", []):
        err.print(f"skipped {skip['file']}: {skip['reason']}", markup=False, highlight=False)
    if summary["retention"]["removed_days"]:
        console.print(f"Retention removed {len(summary['retention']['removed_days'])} day(s) of old events.")


def main() -> None:
    """Entry point: ApisightErrors become one line on stderr and exit code 1."""
    try:
        app(standalone_mode=False)
    except ApisightError as e:
        if _debug:
            raise
        err.print(f"error: {e}", markup=False, highlight=False, style="bold red")
        sys.exit(1)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted", markup=False)
        sys.exit(130)
    except UsageProblem as e:  # wrong options or arguments
        e.show()
        sys.exit(e.exit_code)
    except Exception as e:
        if _debug:
            raise
        err.print(
            f"internal error: {type(e).__name__}: {e} (rerun with --debug for details)",
            markup=False,
            highlight=False,
        )
        sys.exit(2)


if __name__ == "__main__":
    main()

"""Detection commands: alerts, incidents, an entity's timeline, replayed detection, the detectors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from apisight.cli.root import DataOpt, JsonOpt, WaitOpt, app, console, data_dir
from apisight.cli.run import print_recovered
from apisight.config import load_settings
from apisight.detect import registry as detector_registry
from apisight.detect.engine import run_detection
from apisight.errors import ConfigError
from apisight.store import Catalog
from apisight.store.alerts import load_alerts, load_incidents
from apisight.store.timeline import entity_event_count, entity_events
from apisight.store.writer import Writer


@app.command("alerts")
def alerts_cmd(
    detector: Annotated[str | None, typer.Option("--detector", help="Only this detector (or dlp).")] = None,
    entity: Annotated[
        str | None, typer.Option("--entity", help="Only alerts about or involving this entity.")
    ] = None,
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
        what = escape(r["summary"]) + "".join(
            f"\n[dim]not seen: {escape(limit)}[/]" for limit in r["limits"] or []
        )
        if r.get("incident_id"):
            what += f"\n[dim]incident {escape(r['incident_id'])}[/]"
        span = r["last_seen"] - r["first_seen"]
        table.add_row(
            escape(r["severity"]),
            f"[bold]{escape(r['detector'])}[/]\n{escape(r['entity_kind'])} {escape(str(r['entity']))}",
            f"{str(r['first_seen'])[:16]}\nfor {_duration(span.total_seconds())}",
            what,
        )
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
    table = Table(
        "severity",
        "incident",
        "alerts",
        "when (event time)",
        "what",
        title=f"Incidents ({len(rows)})",
        title_justify="left",
    )
    for r in rows:
        table.add_row(
            escape(r["severity"]),
            escape(r["id"]),
            str(r["alerts"]),
            f"{str(r['first_seen'])[:19]} → {str(r['last_seen'])[:19]}",
            escape(r["summary"]),
        )
    console.print(table)


@app.command("timeline")
def timeline_cmd(
    entity: Annotated[
        str,
        typer.Argument(
            help="An address, /24 network, principal, key id, token or account "
            "fingerprint, user agent or partner, as alerts show it."
        ),
    ],
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
    items += [
        {
            "ts": a["first_seen"],
            "type": "alert",
            "id": a["id"],
            "detector": a["detector"],
            "severity": a["severity"],
            "summary": a["summary"],
            "end": a["last_seen"],
        }
        for a in alerts.to_dicts()
    ]
    items.sort(key=lambda i: (i["ts"], i["type"] == "event"))
    if as_json:
        sys.stdout.write(
            orjson.dumps({"entity": entity, "events_total": total, "items": items}, default=str).decode()
            + "\n"
        )
        return
    if not items:
        console.print(f"Nothing stored about {escape(entity)}.")
        return
    table = Table(
        "time",
        "",
        "what",
        "status",
        "client",
        title=f"Timeline of {escape(entity)} ({total:,} events, "
        f"{alerts.height} alerts{'; newest ' + str(limit) + ' events shown' if total > limit else ''})",
        title_justify="left",
    )
    for i in items:
        if i["type"] == "alert":
            table.add_row(
                str(i["ts"])[:23],
                "[bold red]ALERT[/]",
                escape(f"{i['detector']}: {i['summary']}"),
                escape(i["severity"]),
                "",
            )
        else:
            who = i["principal"] or i["api_key_id"] or i["client_ip"] or ""
            table.add_row(
                str(i["ts"])[:23],
                "",
                escape(f"{i['method']} {i['host'] or ''}{i['path']}"),
                str(i["status"]),
                escape(str(who)),
            )
    console.print(table)


@app.command("detect")
def detect_cmd(
    replay: Annotated[
        bool,
        typer.Option(
            "--replay",
            help="Start from empty state and re-run over all stored "
            "events (alerts already raised are not repeated).",
        ),
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Settings file (default: <data>/apisight.yaml).", show_default=False),
    ] = None,
    data: DataOpt = None,
    wait_seconds: WaitOpt = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Run the detectors over the stored events (analyze does this for each run's new events).

    Use --replay after changing detector settings, or for records that arrived later
    than the allowed lateness.

    Example: apisight detect --replay --json
    """
    root = data_dir(data)
    settings = load_settings(config, root)
    if not replay:
        raise ConfigError(
            "nothing to do: analyze runs detection on new events; use --replay to re-run it over "
            "all stored events"
        )
    Catalog(root, read_only=True).close()  # no data there: say so before taking the lock
    with Writer(root, "detect --replay", wait_seconds) as tx:
        with tx.catalog() as catalog:
            summary = run_detection(catalog, catalog.event_files(), settings, tx.run_id, replay=True)
        tx.commit()
    summary["recovered"] = tx.recovered
    if not as_json:
        print_recovered(tx.recovered)
    if as_json:
        sys.stdout.write(orjson.dumps(summary, default=str).decode() + "\n")
        return
    console.print(
        f"Replayed detection over {summary['events']:,} events in {summary['seconds']} s: "
        f"{summary['new_alerts']} new alert(s), {summary['incidents']} incident(s), "
        f"{summary['api_changes']} API change(s) recorded.",
        markup=False,
    )


@app.command("detectors")
def detectors_cmd(as_json: JsonOpt = False) -> None:
    """The installed detectors, what they map to, and their settings (detect.detectors.<name>)."""
    rows: list[dict[str, Any]] = [
        {
            "name": name,
            "title": cls.title,
            "owasp": list(cls.owasp),
            "mitre": list(cls.mitre),
            "options": {**cls.settings_model().model_dump(), "roles": list(cls.roles) if cls.roles else "all"},
        }
        for name, cls in sorted(detector_registry.available().items())
    ]
    if as_json:
        sys.stdout.write(orjson.dumps(rows).decode() + "\n")
        return
    table = Table(title="Detectors (settings: detect.detectors.<name>)", title_justify="left", show_lines=True)
    table.add_column("detector", no_wrap=True)
    table.add_column("what it catches", overflow="fold")
    table.add_column("settings (defaults)", overflow="fold")
    for r in rows:
        table.add_row(
            f"[bold]{escape(r['name'])}[/]",
            f"{escape(r['title'])}\n[dim]{', '.join(r['owasp'])} · {', '.join(r['mitre'])}[/]",
            escape("\n".join(f"{k}: {v}" for k, v in r["options"].items())),
        )
    console.print(table)

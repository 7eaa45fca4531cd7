"""Posture commands: how good the logs are, and the posture findings."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from apisight.cli.root import DataOpt, JsonOpt, app, console, data_dir
from apisight.posture import assess_logs
from apisight.store import Catalog
from apisight.store.findings import load_findings


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
    streams = Table(
        "source",
        "host",
        "events",
        "client IP",
        "identity",
        "latency",
        "bodies",
        "time precision",
        title="Log sources",
        title_justify="left",
    )
    for st in report.streams:

        def rate(name: str, st: Any = st) -> str:
            field = st.field(name)
            return "" if field is None else f"{field.rate:.0%}"

        streams.add_row(
            escape(st.source),
            escape(st.host or "(none)"),
            f"{st.events:,}",
            f"{rate('client_ip')} {st.client_addresses.verdict}",
            rate("identity"),
            rate("latency"),
            rate("bodies"),
            st.timestamp_precision,
        )
    console.print(streams)
    for gap in report.gaps:
        console.print(
            f"\n[bold]{escape(gap.severity)}[/] {escape(gap.title)} — {escape(gap.source)} {escape(gap.host or '')}"
        )
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
    owasp: Annotated[
        str | None, typer.Option("--owasp", help="An OWASP API Top 10 category, e.g. API2.")
    ] = None,
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
        rows = load_findings(
            catalog.db, severity=severity, owasp=owasp, status=None if show_all else "open"
        ).to_dicts()
    for r in rows:
        r["evidence"] = (
            orjson.loads(r["evidence"]) if isinstance(r.get("evidence"), str) else r.get("evidence")
        )
    if as_json:
        sys.stdout.write(orjson.dumps(rows, default=str).decode() + "\n")
        return
    if not rows:
        console.print("No open findings." if not show_all else "No findings.")
        return
    table = Table(
        "severity",
        "check",
        "OWASP",
        "endpoint",
        "events",
        "last seen",
        "fix",
        title=f"Posture findings ({len(rows)})",
        title_justify="left",
        show_lines=True,
    )
    for r in rows:
        table.add_row(
            escape(r["severity"]),
            escape(r["check"]),
            escape(str(r["owasp"]).split(" ")[0]),
            escape(f"{r['method']} {r['host']}{r['path']}"),
            f"{r['events'] or 0:,}",
            str(r["last_seen"])[:19],
            escape(r["remediation"]),
        )
    console.print(table)

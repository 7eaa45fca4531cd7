"""API discovery commands: the inventory, drift against a spec, and the observed OpenAPI document."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
import yaml
from rich.markup import escape
from rich.table import Table

from apisight.cli.root import DataOpt, JsonOpt, app, console, data_dir, err
from apisight.discovery.reports import SPEC_STATUSES, drift_rows, inventory_rows, observed_openapi
from apisight.discovery.spec import load_spec
from apisight.errors import ConfigError
from apisight.store import Catalog

_STATUS_STYLE = {"shadow": "[yellow]", "zombie": "[red]", "unused": "[dim]", "documented": "[green]"}


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
        console.print(
            "No endpoints match." if (status or host) else "No inventory yet: run `apisight analyze` first."
        )
        return
    table = Table(
        "status",
        "method",
        "host",
        "endpoint",
        "role",
        "requests",
        "clients",
        "auth",
        "last seen",
        "drift",
        title=f"API inventory ({len(endpoints)} endpoints)",
        title_justify="left",
    )
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
    spec: Annotated[
        Path, typer.Option("--spec", help="The OpenAPI (or Swagger 2.0) document to compare with.")
    ],
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
    table = Table(
        "status",
        "method",
        "endpoint",
        "requests",
        "drift",
        title=f"{spec} against observed traffic",
        title_justify="left",
        show_lines=True,
    )
    for r in rows:
        by_kind: dict[str, list[str]] = {}
        for d in r["drift"]:
            by_kind.setdefault(d["kind"].replace("_", " "), []).append(d["detail"])
        details = "\n".join(f"{kind}: {', '.join(items)}" for kind, items in by_kind.items())
        table.add_row(
            _STATUS_STYLE.get(r["spec_status"], "") + escape(r["spec_status"]),
            escape(r["method"]),
            escape(r["path"]),
            f"{r['count'] or 0:,}",
            escape(details),
        )
    console.print(table)
    for w in parsed.warnings[:5]:
        err.print(f"spec warning: {w}", markup=False, highlight=False)


@app.command("openapi")
def openapi_cmd(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write here (.json for JSON, else YAML); default stdout."),
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

"""Sensitive-data commands: the data map and who receives which data (flows)."""

from __future__ import annotations

import sys
from typing import Annotated

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from apisight.cli.root import DataOpt, JsonOpt, app, console, data_dir
from apisight.errors import ConfigError
from apisight.store import Catalog
from apisight.store import sensitive as sensitive_store


@app.command("data")
def data_cmd(
    type_: Annotated[
        str | None, typer.Option("--type", help="Only this type, e.g. card_number, iban, us_ssn.")
    ] = None,
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
    table = Table(
        "type",
        "dir",
        "method",
        "endpoint",
        "fields",
        "events",
        "distinct",
        "no auth",
        "http",
        title="Sensitive data map",
        title_justify="left",
    )
    for r in rows:
        table.add_row(
            escape(r["type"]),
            r["direction"],
            r["method"],
            escape(f"{r['host']}{r['path']}"),
            escape(", ".join(r["fields"][:3]) + (" …" if len(r["fields"]) > 3 else "")),
            f"{r['events']:,}",
            f"{r['distinct_values']:,}",
            f"{r['without_auth']:,}" if r["without_auth"] else "",
            f"{r['over_plaintext']:,}" if r["over_plaintext"] else "",
        )
    console.print(table)


@app.command("flows")
def flows_cmd(
    type_: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    direction: Annotated[
        str,
        typer.Option("--direction", help="response (who received it, in bodies or headers), request (who sent it), query, path."),
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
    table = Table(
        "type",
        "endpoint",
        "client",
        "network",
        "IPs",
        "distinct values",
        "events",
        title=f"Sensitive data flows ({direction})",
        title_justify="left",
    )
    for r in rows[:200]:
        table.add_row(
            escape(r["type"]),
            escape(f"{r['method']} {r['host']}{r['path']}"),
            escape(str(r["client"])),
            escape(str(r["network"] or "")),
            f"{r['client_ips']:,}",
            f"{r['distinct_values']:,}",
            f"{r['events']:,}",
        )
    console.print(table)
    if len(rows) > 200:
        console.print(f"… {len(rows) - 200} more rows (use --json or --type)", markup=False)

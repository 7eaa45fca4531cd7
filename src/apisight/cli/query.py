"""The query command: SQL over the stored data."""

from __future__ import annotations

import csv
import io
import sys
from typing import Annotated

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from apisight.cli.root import DataOpt, app, console, data_dir
from apisight.errors import ConfigError
from apisight.store import Catalog


@app.command("query")
def query_cmd(
    sql: Annotated[
        str,
        typer.Argument(help="DuckDB SQL. Tables: events (a view over all stored events), runs, run_files."),
    ],
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

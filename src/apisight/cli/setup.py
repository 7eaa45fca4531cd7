"""Setting up: a starting config, and the input formats apisight reads."""

from __future__ import annotations

import sys
from typing import Annotated

import orjson
import typer
from rich.table import Table

from apisight.cli.root import DataOpt, JsonOpt, app, console, data_dir
from apisight.config import CONFIG_NAME, STARTER_CONFIG
from apisight.errors import ConfigError
from apisight.readers import registry


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

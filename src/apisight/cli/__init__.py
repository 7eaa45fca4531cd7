"""The command line: commands only, no logic. Everything prints through here.

``root`` holds the one Typer app, the consoles, the shared options and ``main``; each
other module adds its commands to that app when imported. They are imported here in
the order ``apisight --help`` lists the commands.
"""

from __future__ import annotations

from apisight.cli.root import app, main

# isort: off
# imported for the commands they add, in the order `apisight --help` lists them
from apisight.cli import run, query, inventory, data, alerts, posture, setup  # noqa: F401
# isort: on

__all__ = ["app", "main"]

"""The root of the command line: the one Typer app, its consoles, the options commands share,
and the entry point that turns errors into one line and an exit code."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from apisight import __version__
from apisight.errors import ApisightError

try:  # typer >= 0.26 vendors click; older ones depend on it
    from typer._click.exceptions import ClickException as UsageProblem
except ImportError:  # pragma: no cover - depends on the installed typer
    from click.exceptions import ClickException as UsageProblem  # type: ignore[assignment]

DATA_ENV = "APISIGHT_DATA"
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
    typer.Option(
        "--data", help=f"Data directory (default ./{DEFAULT_DATA}, or ${DATA_ENV}).", show_default=False
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON document on stdout, for machines.")]
WaitOpt = Annotated[
    float,
    typer.Option("--wait", help="Seconds to wait for another command writing to the data directory "
                 "(default: refuse at once, naming it).", min=0),
]


def data_dir(data: Path | None) -> Path:
    """The data directory: ``--data``, else ``$APISIGHT_DATA``, else ``./apisight-data``."""
    return data or Path(os.environ.get(DATA_ENV, DEFAULT_DATA))


def _print_version(value: bool) -> None:
    """``--version``: handled before the command is looked for, so it needs none."""
    if value:
        console.print(f"apisight {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", is_eager=True,
                                          callback=lambda value: _print_version(value))] = False,
) -> None:
    global _debug
    _debug = debug


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

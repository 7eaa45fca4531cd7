"""``python -m apisight.cli``: the same as the ``apisight`` command."""

from apisight.cli import main

main()

"""``python -m apisight.cli``: the same as the ``apisight`` command."""

from apisight.cli import main

if __name__ == "__main__":  # not when a worker process re-imports the main module (spawn)
    main()

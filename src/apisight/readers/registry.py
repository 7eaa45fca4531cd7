"""The one registry of readers: built-ins and plugins alike load from entry points.

Third parties add a format by exposing a class under the ``apisight.readers``
entry-point group; apisight's own readers are registered the same way in
``pyproject.toml``.
"""

from __future__ import annotations

from functools import cache

from apisight.errors import ConfigError, InputError
from apisight.plugins import load_group
from apisight.readers.base import Reader, ReaderOptions
from apisight.sources import Source

GROUP = "apisight.readers"
#: Auto-detection tries formats in this order; unlisted plugins come after.
SNIFF_ORDER = ["harl", "har", "kong", "envoy", "alb", "nginx", "jsonl"]
SNIFF_LINES = 20


@cache
def reader_classes() -> dict[str, type]:
    """Every installed reader class by name."""
    return load_group(GROUP, "reader")


def names() -> list[str]:
    return sorted(reader_classes())


def create(name: str, options: ReaderOptions) -> Reader:
    """The reader called ``name``; an unknown name lists the installed ones."""
    classes = reader_classes()
    if name not in classes:
        raise ConfigError(f"unknown format {name!r}; installed formats: {', '.join(names())}")
    reader: Reader = classes[name](options)
    return reader


def detect(source: Source, options: ReaderOptions) -> Reader | None:
    """The first reader whose ``sniff`` accepts the first lines of ``source``, or None if empty."""
    head = _head(source)
    if not head:
        return None
    order = SNIFF_ORDER + [n for n in names() if n not in SNIFF_ORDER]
    for name in order:
        if name not in reader_classes():
            continue
        reader = create(name, options)
        if reader.sniff(head):
            return reader
    raise InputError(
        f"{source.name}: cannot tell the format from its first lines; "
        f"force one with --format ({', '.join(names())}), "
        "or --log-format for a custom nginx log_format"
    )


def _head(source: Source) -> list[str]:
    text = source.head().decode("utf-8", errors="replace")
    lines = [ln.rstrip("\r") for ln in text.split("\n")]
    return [ln for ln in lines if ln.strip()][:SNIFF_LINES]

"""HAR 1.2 files (browser or proxy captures), with request and response bodies.

A HAR file is one JSON document, so it is loaded whole; its entries are then parsed
exactly as HAR lines are, numbered by their position in ``log.entries`` (1-based).
For continuous capture, write HAR lines instead: they stream in bounded memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import ClassVar

import orjson
import polars as pl

from apisight.readers.base import LineReader, ParseResult, unreadable
from apisight.readers.harl import HarlReader
from apisight.sources import Source

ENTRIES_PER_BATCH = 50_000


class HarReader(LineReader):
    """A HAR 1.2 document: ``{"log": {"entries": [...]}}``."""

    name: ClassVar[str] = "har"
    description: ClassVar[str] = "HAR 1.2 file (browser/proxy capture) with bodies"

    def sniff(self, head: list[str]) -> bool:
        text = "\n".join(head)[:4096].lstrip()
        return text.startswith("{") and '"log"' in text and '"startedDateTime"' not in text.split('"log"')[0]

    def tasks(self, source: Source) -> Iterator[Callable[[], ParseResult]]:
        with source.open() as stream:
            data = stream.read()
        try:
            document = orjson.loads(data)
            entries = document["log"]["entries"]
            if not isinstance(entries, list):
                raise TypeError("log.entries is not a list")
        except (orjson.JSONDecodeError, KeyError, TypeError) as e:
            yield partial(unreadable, 0, f"not a HAR document: {e}", len(data))
            return
        entry_reader = HarlReader(self.options)
        for start in range(0, len(entries), ENTRIES_PER_BATCH):
            chunk = entries[start : start + ENTRIES_PER_BATCH]
            lines = pl.DataFrame(
                {
                    "line_no": range(start + 1, start + len(chunk) + 1),
                    "line": [orjson.dumps(e).decode() for e in chunk],
                },
                schema={"line_no": pl.Int64, "line": pl.String},
            )
            yield partial(_parse_entries, entry_reader, lines, len(data) if start == 0 else 0)


def _parse_entries(reader: HarlReader, lines: pl.DataFrame, bytes_read: int) -> ParseResult:
    result = reader.parse(lines)
    result.bytes_read = bytes_read
    return result

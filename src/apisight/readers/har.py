"""HAR 1.2 files (browser or proxy captures), with request and response bodies.

A HAR file is one JSON document; its entries are streamed out of it with ijson (yajl,
in C), so memory stays bounded by one batch of entries whatever the file size. Each
batch is then parsed exactly as HAR lines are, entries numbered by their position in
``log.entries`` (1-based). A file that breaks off keeps every entry before the break.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, BinaryIO, ClassVar

import ijson
import orjson
import polars as pl

from apisight.readers.base import LineReader, ParseResult, checked, unreadable
from apisight.readers.harl import HarlReader
from apisight.sources import Source

ENTRIES_PER_BATCH = 5_000
_LINES = {"line_no": pl.Int64, "line": pl.String}


class HarReader(LineReader):
    """A HAR 1.2 document: ``{"log": {"entries": [...]}}``."""

    name: ClassVar[str] = "har"
    description: ClassVar[str] = "HAR 1.2 file (browser/proxy capture) with bodies"

    def sniff(self, head: list[str]) -> bool:
        text = "\n".join(head)[:4096].lstrip()
        return text.startswith("{") and '"log"' in text and '"startedDateTime"' not in text.split('"log"')[0]

    def tasks(self, source: Source) -> Iterator[Callable[[], ParseResult]]:
        entry_reader = HarlReader(self.options)
        batch: list[str] = []
        count = 0
        with source.open(self.options.decompression) as stream:
            counted = _CountingStream(stream)
            try:
                for entry in ijson.items(counted, "log.entries.item", use_float=True):
                    count += 1
                    batch.append(orjson.dumps(entry, default=_json_default).decode())
                    if len(batch) == ENTRIES_PER_BATCH:
                        yield partial(_parse_entries, entry_reader, _lines(batch, count), counted.take())
                        batch = []
            except (ijson.JSONError, ijson.IncompleteJSONError) as e:
                if batch:
                    yield partial(_parse_entries, entry_reader, _lines(batch, count), counted.take())
                problem = "not a HAR document" if count == 0 else "HAR file breaks off here"
                yield partial(unreadable, count + 1, f"{problem}: {e}", counted.take())
                return
        if batch:
            yield partial(_parse_entries, entry_reader, _lines(batch, count), counted.take())
        if count == 0 and (reason := _not_har(source)) is not None:
            yield partial(unreadable, 0, f"not a HAR document: {reason}", counted.take())


class _CountingStream:
    """Counts the bytes ijson reads, for progress."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._pending = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._pending += len(data)
        return data

    def take(self) -> int:
        taken, self._pending = self._pending, 0
        return taken


def _lines(batch: list[str], last: int) -> pl.DataFrame:
    first = last - len(batch) + 1
    return pl.DataFrame({"line_no": range(first, last + 1), "line": batch}, schema=_LINES)


def _not_har(source: Source) -> str | None:
    """Why a document without entries is not a HAR file, or None if it is an empty one."""
    with source.open() as stream:
        try:
            entries = next(ijson.items(stream, "log.entries"), None)
        except (ijson.JSONError, ijson.IncompleteJSONError) as e:
            return str(e)
    if entries is None:
        return "no log.entries"
    if not isinstance(entries, list):
        return "log.entries is not a list"
    return None


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


def _parse_entries(reader: HarlReader, lines: pl.DataFrame, bytes_read: int) -> ParseResult:
    result = checked(reader.parse, lines)
    result.bytes_read = bytes_read
    return result

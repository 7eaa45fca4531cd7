"""The reader contract: how a traffic format becomes raw event frames.

A reader turns one :class:`~apisight.sources.Source` into :class:`ParseResult`
batches. Line formats subclass :class:`LineReader` and implement only
:meth:`LineReader.parse`, a vectorised function of a batch of lines; chunking, line
numbers, over-long lines and stopping at end of input are decided here, once.
Whole-document formats (HAR) implement :meth:`Reader.read` themselves.

A reader never retries and never drops a bad record silently: each one comes back in
``ParseResult.malformed`` with its line number and the reason.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import ClassVar, Protocol, runtime_checkable

import polars as pl

from apisight.readers.guard import checked
from apisight.readers.results import EXCERPT_CHARS, MALFORMED_SCHEMA, ParseResult, empty_result, rejects

# the reader contract in one place: a format plugin imports from here
__all__ = ["EXCERPT_CHARS", "MALFORMED_SCHEMA", "LineReader", "ParseResult", "Reader", "ReaderOptions", "checked",
           "empty_result", "rejects", "split_request_line", "unreadable"]
from apisight.sources import DecompressionLimits, LineChunk, Source, iter_line_chunks


@dataclass(frozen=True)
class ReaderOptions:
    """Options a user can give any reader; each reader uses what applies to it."""

    log_format: str | None = None  # nginx log_format string
    field_map: dict[str, str] = field(default_factory=dict)  # canonical field -> JSONPath
    chunk_bytes: int = 8 * 1024 * 1024
    max_line_bytes: int = 4 * 1024 * 1024
    decompression: DecompressionLimits = field(default_factory=DecompressionLimits)


@runtime_checkable
class Reader(Protocol):
    """A traffic format. ``name`` is what ``--format`` and config use."""

    name: ClassVar[str]
    description: ClassVar[str]

    def sniff(self, head: list[str]) -> bool:
        """True if the first non-empty lines of an input look like this format."""
        ...

    def tasks(self, source: Source) -> Iterator[Callable[[], ParseResult]]:
        """Parsing work for ``source``, one picklable callable per batch, in input order.

        Iterating reads the input (and stops at its end); calling a task parses. Tasks
        may run in another process, so they must not close over unpicklable state.
        """
        ...


class LineReader:
    """Base for formats with one record per line."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def __init__(self, options: ReaderOptions | None = None) -> None:
        self.options = options or ReaderOptions()

    def sniff(self, head: list[str]) -> bool:
        if not head:
            return False
        result = self.parse(pl.DataFrame({"line_no": range(1, len(head) + 1), "line": head}))
        return result.records.height > 0 and result.records.height >= result.malformed.height

    def parse(self, lines: pl.DataFrame) -> ParseResult:
        """Parse a frame with columns ``line_no`` and ``line``."""
        raise NotImplementedError

    def read(self, source: Source) -> Iterator[ParseResult]:
        """Parse ``source`` here and now, batch by batch (for tests and scripts)."""
        for task in self.tasks(source):
            yield task()

    def tasks(self, source: Source) -> Iterator[Callable[[], ParseResult]]:
        """One task per chunk of lines; cutting chunks happens as the iterator advances."""
        next_line = 1
        with source.open(self.options.decompression) as stream:
            try:
                for chunk in iter_line_chunks(stream, self.options.chunk_bytes, self.options.max_line_bytes):
                    next_line = chunk.first_line + chunk.data.count(b"\n")
                    yield partial(self.parse_chunk, chunk)
            except (OSError, EOFError, zlib.error) as e:
                # a truncated or corrupt .gz: keep what was read, report where it broke
                yield partial(unreadable, next_line, f"input unreadable from here on: {e}")

    def parse_chunk(self, chunk: LineChunk) -> ParseResult:
        """Decode, split and parse one chunk of raw lines."""
        frame, too_long = chunk.lines(self.options.max_line_bytes)
        result = checked(self.parse, frame) if frame.height else empty_result()
        if too_long:
            rows = pl.DataFrame(
                {
                    "line_no": too_long,
                    "reason": [f"line longer than {self.options.max_line_bytes} bytes"] * len(too_long),
                    "excerpt": [""] * len(too_long),
                },
                schema=MALFORMED_SCHEMA,
            )
            result.malformed = pl.concat([result.malformed, rows])
        result.bytes_read = chunk.bytes_read
        return result


def unreadable(line_no: int, reason: str, bytes_read: int = 0) -> ParseResult:
    """A source (or the rest of it) could not be read: one problem, no records."""
    problem = pl.DataFrame({"line_no": [line_no], "reason": [reason], "excerpt": [""]}, schema=MALFORMED_SCHEMA)
    return ParseResult(empty_result().records, problem, bytes_read, broke_off=True)


def split_request_line(frame: pl.DataFrame, column: str = "request") -> pl.DataFrame:
    """``frame`` with ``_request_method`` and ``_request_target`` from the HTTP request line
    in ``column`` (``GET /a?b=1 HTTP/1.1``), split once (names no log variable takes).

    A line whose first word is not an HTTP method token (TLS bytes sent to a plain
    port, scanners' garbage) gives null method and target.
    """
    parts = frame.select(pl.col(column).str.split_exact(" ", 2).struct.unnest())
    method, target = pl.col("field_0"), pl.col("field_1")
    valid = method.str.contains(r"^[A-Za-z]{1,20}$") & target.is_not_null() & (target != "")
    found = parts.select(pl.when(valid).then(method.str.to_uppercase()).alias("_request_method"),
                         pl.when(valid).then(target).alias("_request_target"))
    return frame.hstack(found.get_columns())

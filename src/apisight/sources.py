"""Input sources: files, directories, gzip files and stdin, read as bounded chunks.

Everything here is format-agnostic: it yields bytes and line batches with their line
numbers, so a reader never has to know where its input came from. A line longer than
``max_line_bytes`` is reported as malformed and skipped without being held in memory.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import polars as pl

from apisight.errors import InputError

STDIN = "-"
GZIP_MAGIC = b"\x1f\x8b"
DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024
#: Bytes read from each end of a file for its identity.
IDENTITY_BYTES = 64 * 1024


@dataclass(frozen=True)
class Source:
    """One input: a file path, or ``-`` for standard input.

    ``walked`` marks files found by walking a directory (a stray file there is skipped,
    not fatal). Standard input and other non-regular files (pipes, process
    substitution) can be read only once: they share one buffered stream, so sniffing
    their first lines does not consume them.
    """

    name: str
    walked: bool = False

    @property
    def is_stdin(self) -> bool:
        return self.name == STDIN

    @property
    def is_stream(self) -> bool:
        return self.is_stdin or not Path(self.name).is_file()

    def size(self) -> int | None:
        """Bytes on disk (compressed size for .gz), or None for streams."""
        return None if self.is_stream else Path(self.name).stat().st_size

    def identity(self) -> str | None:
        """What tells this file's content apart without reading it all: its size,
        modification time and first and last 64 KiB (as log shippers recognise a file
        across renames); None for streams, which are never the same twice."""
        if self.is_stream:
            return None
        digest = hashlib.blake2b(digest_size=16)
        with open(self.name, "rb") as f:
            stat = os.fstat(f.fileno())
            digest.update(f"{stat.st_size}:{stat.st_mtime_ns}:".encode())
            digest.update(f.read(IDENTITY_BYTES))
            if stat.st_size > 2 * IDENTITY_BYTES:
                f.seek(-IDENTITY_BYTES, os.SEEK_END)
            digest.update(f.read(IDENTITY_BYTES))
        return digest.hexdigest()

    def open(self, limits: DecompressionLimits | None = None) -> BinaryIO:
        """Open for binary reading, transparently decompressing gzip (within ``limits``)."""
        raw = _shared_stream(self.name) if self.is_stream else open(self.name, "rb")  # noqa: SIM115
        if raw.peek(2)[:2] == GZIP_MAGIC:
            return GzipStream(raw, limits)  # type: ignore[return-value]
        return raw

    def head(self, max_bytes: int = 256 * 1024) -> bytes:
        """The first bytes (decompressed as far as they go), without consuming a stream."""
        if self.is_stream:
            data = _shared_stream(self.name).peek(max_bytes)[:max_bytes]
            if data[:2] != GZIP_MAGIC:
                return data
            return _read_tolerantly(GzipStream(io.BytesIO(data)), max_bytes)  # type: ignore[arg-type]
        with self.open() as stream:
            return _read_tolerantly(stream, max_bytes)


def _read_tolerantly(stream: BinaryIO, max_bytes: int) -> bytes:
    """Up to ``max_bytes``; a damaged gzip gives what decompressed before the damage."""
    try:
        return stream.read(max_bytes)
    except (EOFError, zlib.error):
        return b""


@dataclass(frozen=True)
class DecompressionLimits:
    """How far a compressed input may expand before the rest is refused as a likely bomb.

    Log files compress 5-50 times; a decompression bomb, a thousand times. The ratio is
    checked once ``ratio_after`` bytes came out, so a small, very repetitive file is fine.
    """

    max_bytes: int = 1 << 40  # 1 TiB out of one input
    max_ratio: float = 200.0
    ratio_after: int = 64 * 1024 * 1024


class DecompressionLimitError(OSError):
    """A compressed input expanded past its limits; what came out before is kept."""


class GzipStream(io.RawIOBase):
    """Decompresses gzip (also concatenated members) and keeps what precedes damage.

    :class:`gzip.GzipFile` raises on a truncated file and loses the data of the read
    that hit the end; here every byte that decompressed is returned first and the
    error is raised by the next read, so a reader reports where the file broke. Output
    comes at most ``OUT_PIECE`` bytes at a time, and past the :class:`DecompressionLimits`
    the rest is an error of its own, so no input can make memory or time run away.
    """

    PIECE = 256 * 1024
    OUT_PIECE = 4 * 1024 * 1024

    def __init__(self, raw: BinaryIO, limits: DecompressionLimits | None = None) -> None:
        self._raw = raw
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._limits = limits or DecompressionLimits()
        self._pending = b""
        self._tail = b""  # compressed bytes read but not yet decompressed
        self._read_in = 0
        self._produced = 0
        self._error: Exception | None = None
        self._done = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        want = -1 if size is None else size
        out = bytearray()
        while want < 0 or len(out) < want:
            if self._pending:
                take = self._pending if want < 0 else self._pending[: want - len(out)]
                out += take
                self._pending = self._pending[len(take) :]
                continue
            if self._error is not None:
                if out:
                    break
                error, self._error = self._error, None
                self._done = True
                raise error
            if self._done:
                break
            self._fill()
        return bytes(out)

    def _fill(self) -> None:
        if not self._tail:
            piece = self._raw.read(self.PIECE)
            if not piece:
                self._done = True
                if not self._z.eof:
                    self._error = EOFError("gzip file is truncated")
                return
            self._read_in += len(piece)
            self._tail = piece
        try:
            if self._z.eof:  # the member before ended: what follows is the next one
                self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
            data = self._z.decompress(self._tail, self.OUT_PIECE)
            self._tail = self._z.unused_data if self._z.eof else self._z.unconsumed_tail
        except zlib.error as e:
            self._error = e
            return
        self._pending = data
        self._produced += len(data)
        limits = self._limits
        if self._produced > limits.max_bytes:
            self._error = DecompressionLimitError(
                f"decompressed past {limits.max_bytes:,} bytes (capture.max_decompressed_bytes); the rest is not read")
        elif self._produced > limits.ratio_after and self._produced > limits.max_ratio * self._read_in:
            self._error = DecompressionLimitError(
                f"expands more than {limits.max_ratio:g} times (capture.max_expansion): a decompression bomb? "
                "the rest is not read")

    def close(self) -> None:
        self._raw.close()
        super().close()


_STREAMS: dict[str, io.BufferedReader] = {}


def _shared_stream(name: str) -> io.BufferedReader:
    """One peekable buffer per stream (stdin, a pipe), since it can be read only once."""
    if name not in _STREAMS:
        raw = sys.stdin.buffer if name == STDIN else open(name, "rb", buffering=0)  # noqa: SIM115
        _STREAMS[name] = io.BufferedReader(raw, buffer_size=1024 * 1024)  # type: ignore[arg-type]
    return _STREAMS[name]


def expand(paths: list[str]) -> list[Source]:
    """Turn command-line paths into sources, recursing into directories (sorted).

    Raises :class:`InputError` naming every path that does not exist, before anything
    is read, so a typo never leaves a half-written run behind. A file named twice (a
    glob and a directory that overlap) is read once.
    """
    missing = [p for p in paths if p != STDIN and not Path(p).exists()]
    if missing:
        raise InputError(
            "input not found: " + ", ".join(missing) + " (check the path, or use - for stdin)"
        )
    sources: list[Source] = []
    for p in paths:
        if p == STDIN:
            sources.append(Source(STDIN))
        elif Path(p).is_dir():
            files = sorted(f for f in Path(p).rglob("*") if f.is_file() and not f.name.startswith("."))
            sources.extend(Source(str(f), walked=True) for f in files)
        else:
            sources.append(Source(p))
    seen: set[str] = set()
    unique = []
    for source in sources:
        where = source.name if source.is_stdin else str(Path(source.name).resolve())
        if where not in seen:
            seen.add(where)
            unique.append(source)
    return unique


@dataclass
class LineChunk:
    """Complete lines of raw bytes from one source, not yet decoded.

    Cutting a stream into chunks is cheap (find the last newline, count newlines) and
    happens where the input is read; decoding and splitting happen where the chunk is
    parsed, which may be another process.
    """

    data: bytes  # whole lines, ending with a newline (or empty)
    first_line: int  # number of the first line in ``data``
    too_long: list[int]  # line numbers skipped for exceeding the line limit
    bytes_read: int  # raw bytes consumed from the stream for this chunk

    def lines(self, max_line_bytes: int) -> tuple[pl.DataFrame, list[int]]:
        """The chunk as a frame of (``line_no``, ``line``) and the over-long line numbers."""
        frame, long_lines = _split_lines(self.data, self.first_line, max_line_bytes)
        return frame, self.too_long + long_lines


LINE_SCHEMA = {"line_no": pl.Int64, "line": pl.String}


def iter_line_chunks(
    stream: BinaryIO,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[LineChunk]:
    """Cut a byte stream into chunks of complete lines, numbering lines from 1.

    A line longer than ``max_line_bytes`` is skipped (its number reported) without ever
    being held whole in memory. Every byte read is accounted to some chunk.
    """
    carry = b""
    next_line = 1
    skipping = False  # inside an over-long line, discarding until its newline
    too_long: list[int] = []
    unreported = 0  # bytes read since the last chunk was yielded
    while True:
        chunk = stream.read(chunk_bytes)
        if not chunk:
            break
        unreported += len(chunk)
        if skipping:
            nl = chunk.find(b"\n")
            if nl < 0:
                continue
            chunk = chunk[nl + 1 :]
            skipping = False
            next_line += 1
        data = carry + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            carry = data
            if len(carry) > max_line_bytes:
                too_long.append(next_line)
                carry, skipping = b"", True
            continue
        carry = data[cut + 1 :]
        body = data[: cut + 1]
        first = next_line
        next_line += body.count(b"\n")
        if len(carry) > max_line_bytes:
            too_long.append(next_line)
            carry, skipping = b"", True
        yield LineChunk(body, first, too_long, unreported)
        too_long, unreported = [], 0
    if carry and not skipping:
        yield LineChunk(carry + b"\n", next_line, too_long, unreported)
    elif too_long or unreported:
        yield LineChunk(b"", next_line, too_long, unreported)


def _split_lines(body: bytes, first_line: int, max_line_bytes: int) -> tuple[pl.DataFrame, list[int]]:
    """Lines of ``body`` (empty, or ending with a newline), numbered from ``first_line``.

    Blank lines are dropped (their numbers still count); invalid UTF-8 is decoded with
    replacement characters so one bad byte never takes a whole batch with it.
    """
    lines = body.decode("utf-8", errors="replace").split("\n")
    lines.pop()  # body ends with a newline: the last element is always empty
    n = len(lines)
    frame = pl.DataFrame(
        {"line_no": pl.int_range(first_line, first_line + n, eager=True, dtype=pl.Int64), "line": lines},
        schema=LINE_SCHEMA,
    ).with_columns(pl.col("line").str.strip_suffix("\r"))
    lengths = frame["line"].str.len_bytes()
    long_mask = lengths > max_line_bytes
    long_lines: list[int] = []
    if long_mask.any():
        long_lines = frame.filter(long_mask)["line_no"].to_list()
    return frame.filter(~long_mask & (lengths > 0)), long_lines

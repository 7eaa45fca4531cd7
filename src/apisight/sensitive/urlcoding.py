"""Percent-decoding for the scanner, with the way back to offsets in the original text.

Query strings, paths and form bodies percent-encode what recognizers look for
(``email=john%40example.com``, ``phone=%2B447700900123``, ``iban=GB82+WEST+1234…``).
The scanner looks at a decoded copy of such texts and maps each finding's byte offsets
back, so the *encoded* span is what gets masked and nothing of the value is left.

Only what hides values is decoded. Escapes that would change how a text splits stay
as they are — ``%26`` (&), ``%3D`` (=), ``%23`` (#), ``%25`` (%) and ``%3F`` (?) always,
``%2F`` (/) in paths, URLs and header maps, ``%22`` (") and ``%5C`` (\\) in header maps
(JSON) — as do escapes of control characters (a decoded text stays one line). So a
parameter name is still split at its own ``=`` and ``&``, and a ``%2540`` never becomes
an ``@``.

``+`` is a space in query strings and ``application/x-www-form-urlencoded`` bodies
(mode ``form``) and in the query of a URL (a Referer, a Location in a header map), never
in a path. But clients also send a literal ``+`` (``phone=+4477…``,
``john+tag@example.com``), so such a text is scanned twice, ``+`` kept and ``+`` as a
space, and a finding of the second is kept only where the first found nothing
(:meth:`DecodedBatch.restore`).

Each distinct text is decoded once (memoised, bounded); only rows with an escape (or a
``+`` where it may be a space) are looked at, found with one vectorised test per batch.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from apisight.sensitive.fieldpath import sniff_format

#: Byte values whose escapes are never decoded, per mode.
_STRUCTURAL = frozenset(b"&=#%?") | frozenset(range(0x20)) | {0x7F}
KEPT: dict[str, frozenset[int]] = {
    "form": _STRUCTURAL,
    "path": _STRUCTURAL | frozenset(b"/"),
    "url": _STRUCTURAL | frozenset(b"/"),
    "headers": _STRUCTURAL | frozenset(b'/"\\'),
}
#: Scanner formats decoded in a mode of their own (otherwise: by content type).
MODE_OF_FORMAT = {"form": "form", "path": "path", "url": "url", "headers": "headers"}
FORM = "application/x-www-form-urlencoded"

_HEX_DIGITS = "0123456789abcdefABCDEF"
_HEX = {(a + b).encode(): int(a + b, 16) for a in _HEX_DIGITS for b in _HEX_DIGITS}
_ESCAPE = r"%[0-9A-Fa-f]{2}"
_FORM_START = r"^[^\s=&{\[<\"]+="
_QUERY_PLUS = r'\?[^"\s#]*\+'  # a '+' in a URL's query
_QUERY = re.compile(rb'\?[^"\s#]*')  # a URL's query (in a header map: up to the end of the value)
_CACHE_SIZE = 1 << 14
_MEMO_MAX_CHARS = 4096


@dataclass(frozen=True, slots=True)
class Decoded:
    """A decoded text and where its decoded escapes are.

    ``escapes`` holds, ascending, the byte offset in ``text`` (as UTF-8) of every byte
    that was a three-byte ``%XX`` in the original; every other byte is one byte there too.
    """

    text: str
    escapes: tuple[int, ...]

    def original(self, offset: int) -> int:
        """The original byte offset of decoded byte offset ``offset`` (a span end maps to
        the end of the escape it follows)."""
        return offset + 2 * bisect_left(self.escapes, offset)


def plus_as_space(data: bytes, mode: str) -> bytes:
    """``data`` with each literal ``+`` that means a space as a space (same length): all of
    them in a form, those in a URL's query in ``url`` and ``headers``."""
    if mode in ("url", "headers"):
        return _QUERY.sub(lambda m: m.group().replace(b"+", b" "), data)
    return data.replace(b"+", b" ")


def decode_bytes(data: bytes, mode: str, *, plus: bool) -> tuple[bytes, tuple[int, ...]]:
    """``data`` with its escapes decoded as ``mode`` allows (``+`` as a space if ``plus``: in
    ``url`` and ``headers`` only in a query), and the decoded offsets of the bytes that were
    escapes."""
    kept = KEPT[mode]
    if plus:
        data = plus_as_space(data, mode)
    parts = data.split(b"%")
    out = [parts[0]]
    size = len(parts[0])
    escapes: list[int] = []
    for part in parts[1:]:
        byte = _HEX.get(part[:2])
        if byte is None or byte in kept:
            out.append(b"%")
            out.append(part)
            size += 1 + len(part)
            continue
        escapes.append(size)
        out.append(bytes((byte,)))
        out.append(part[2:])
        size += len(part) - 1
    return b"".join(out), tuple(escapes)


def decode(text: str, mode: str, *, plus: bool = False) -> Decoded | None:
    """``text`` decoded as ``mode`` allows, or ``None`` when that changes nothing or does
    not give valid UTF-8 (the original is then scanned as it is)."""
    data = text.encode("utf-8", "surrogatepass")
    decoded, escapes = decode_bytes(data, mode, plus=plus)
    if not escapes and decoded == data:
        return None
    try:
        return Decoded(decoded.decode("utf-8"), escapes)
    except UnicodeDecodeError:
        return None


@dataclass
class DecodedBatch:
    """A batch prepared for scanning: decoded rows in place, ``+``-as-space copies after.

    ``texts[:n]`` are the batch's rows (decoded where ``maps`` has a row);
    ``texts[n + k]`` is a copy of row ``sources[k]`` with ``+`` as a space.
    """

    texts: pl.Series
    content_types: pl.Series | None
    n: int
    maps: dict[int, Decoded]
    sources: list[int]
    copies: list[Decoded]

    def restore(self, findings: pl.DataFrame) -> pl.DataFrame:
        """``findings`` with rows and byte offsets of the original texts.

        A finding in a ``+``-as-space copy is dropped where it overlaps one in the row
        itself: ``john+tag@example.com`` is one address, not ``tag@example.com``.
        """
        if findings.height == 0:
            return findings
        rows = findings["row"].to_list()
        starts = findings["start"].to_list()
        ends = findings["end"].to_list()
        spans: dict[int, list[tuple[int, int]]] = {}
        copied = [i for i, r in enumerate(rows) if r >= self.n]
        for i, row in enumerate(rows):
            if row >= self.n:
                continue
            m = self.maps.get(row)
            if m is not None:
                starts[i], ends[i] = m.original(starts[i]), m.original(ends[i])
            if copied:
                spans.setdefault(row, []).append((starts[i], ends[i]))
        keep = [True] * len(rows)
        for i in copied:
            k = rows[i] - self.n
            m = self.copies[k]
            row, start, end = self.sources[k], m.original(starts[i]), m.original(ends[i])
            rows[i], starts[i], ends[i] = row, start, end
            if any(s < end and start < e for s, e in spans.get(row, ())):
                keep[i] = False
            else:
                spans.setdefault(row, []).append((start, end))
        out = findings.with_columns(
            pl.Series("row", rows, dtype=pl.Int64),
            pl.Series("start", starts, dtype=pl.Int64),
            pl.Series("end", ends, dtype=pl.Int64),
        )
        if copied:
            out = out.filter(pl.Series(keep)).sort("row", "start", maintain_order=True)
        return out


class UrlDecoder:
    """Prepares batches of texts for scanning (:meth:`prepare`); memoises per distinct text."""

    def __init__(self) -> None:
        self._memo: dict[tuple[str, str, bool], Decoded | None] = {}

    def prepare(
        self, texts: pl.Series, content_types: pl.Series | Sequence[str | None] | None, fmt: str | None
    ) -> DecodedBatch | None:
        """The batch to scan instead of ``texts``, or ``None`` when nothing in it is encoded.

        ``fmt`` ``form`` (query strings), ``path``, ``url`` or ``headers`` decodes every row
        in that mode; with no ``fmt``, rows whose content type is
        ``application/x-www-form-urlencoded`` (or, with none, that look like a form) are
        decoded as forms; other formats (``json``, ``xml``, ``text``) are left alone.
        """
        texts = texts.cast(pl.String)
        if fmt is not None and fmt not in MODE_OF_FORMAT:
            return None
        n = texts.len()
        escaped = texts.str.contains(_ESCAPE).fill_null(False)
        cts: pl.Series | None = None
        typed = pl.repeat(False, n, eager=True)
        if fmt == "form":
            spaced = texts.str.contains("+", literal=True).fill_null(False)
            candidates = escaped | spaced
        elif fmt == "path":
            spaced = typed
            candidates = escaped
        elif fmt is not None:  # URLs, header maps: '+' is a space in a query
            spaced = texts.str.contains(_QUERY_PLUS).fill_null(False)
            candidates = escaped | spaced
        else:
            if content_types is not None:
                cts = (
                    content_types
                    if isinstance(content_types, pl.Series)
                    else pl.Series(content_types, dtype=pl.String)
                )
                cts = cts.cast(pl.String)
            else:
                cts = pl.Series([None] * n, dtype=pl.String)
            typed = cts.str.contains("(?i)x-www-form-urlencoded").fill_null(False)
            # without a content type, only what could be a form (confirmed by a sniff below)
            formish = typed | (cts.is_null() & texts.str.contains(_FORM_START).fill_null(False))
            spaced = texts.str.contains("+", literal=True).fill_null(False) & formish
            candidates = escaped & formish | spaced
        if not candidates.any():
            return None
        rows = candidates.arg_true().to_list()
        mode = MODE_OF_FORMAT[fmt or "form"]
        maps: dict[int, Decoded] = {}
        sniffed: list[int] = []
        sources: list[int] = []
        copies: list[Decoded] = []
        for row, text, form, space in zip(
            rows, texts.gather(rows).to_list(), typed.gather(rows).to_list(), spaced.gather(rows).to_list()
        ):
            if fmt is None and not form:
                if sniff_format(text[:512].encode("utf-8", "surrogatepass")) != "form":
                    continue  # no content type, and not a form either
                sniffed.append(row)  # decoded, it may no longer look like one: say so
            decoded = self._decode(text, mode, False)
            if decoded is not None:
                maps[row] = decoded
            if space:
                copy = self._decode(text, mode, True)
                if copy is not None:
                    sources.append(row)
                    copies.append(copy)
        if not maps and not copies:
            return None
        out = texts.clone()
        if maps:
            out.scatter(list(maps), pl.Series([d.text for d in maps.values()], dtype=pl.String))
        if copies:
            out = pl.concat([out, pl.Series(out.name, [c.text for c in copies], dtype=pl.String)])
        if cts is not None:
            if sniffed:
                cts = cts.clone()
                cts.scatter(sniffed, FORM)
            if copies:
                cts = pl.concat([cts, cts.gather(sources)])
        return DecodedBatch(out, cts, n, maps, sources, copies)

    def _decode(self, text: str, mode: str, plus: bool) -> Decoded | None:
        if len(text) > _MEMO_MAX_CHARS:  # a long body rarely recurs: not worth its memory
            return decode(text, mode, plus=plus)
        key = (text, mode, plus)
        if key in self._memo:
            return self._memo[key]
        if len(self._memo) >= _CACHE_SIZE:
            self._memo.clear()
        decoded = self._memo[key] = decode(text, mode, plus=plus)
        return decoded

"""Bodies as captured, made scannable: decoded, binary skipped, capped — never fatal.

Real captures carry bodies base64-encoded (HAR ``content.encoding: base64``) and/or
compressed (``Content-Encoding: gzip | br | deflate``). :func:`prepare_bodies` turns a
column of them into text: plain bodies pass through vectorised; only rows that need
decoding are handled one by one. Binary bodies (images, PDFs, archives, protobuf) are
skipped and counted; bodies over ``max_bytes`` are cut there and marked truncated;
undecodable bytes become U+FFFD and are counted, and never stop a batch.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from dataclasses import dataclass, field

import polars as pl

try:  # optional: brotli bodies are reported as unsupported without it
    import brotli  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the environment
    brotli = None

#: Content types whose bodies are not text worth scanning.
BINARY_CONTENT_TYPES = (
    r"(?i)^\s*(?:image|audio|video|font)/|^\s*application/(?:pdf|octet-stream|zip|gzip|x-gzip|x-tar|"
    r"x-protobuf|protobuf|grpc|x-msgpack|msgpack|vnd\.ms-|vnd\.openxmlformats|x-7z|wasm)"
)
DEFAULT_MAX_BYTES = 1 << 20


@dataclass
class BodyStats:
    """What preparing a batch of bodies did, for the run summary."""

    bodies: int = 0
    decoded: dict[str, int] = field(default_factory=dict)  # base64 / gzip / deflate / br -> count
    unsupported: dict[str, int] = field(default_factory=dict)  # e.g. "br not supported" -> count
    undecodable: int = 0  # claimed an encoding but could not be decoded
    binary_skipped: int = 0
    truncated: int = 0
    invalid_utf8: int = 0

    def _add(self, table: dict[str, int], key: str) -> None:
        table[key] = table.get(key, 0) + 1


def prepare_bodies(
    bodies: pl.Series,
    *,
    content_types: pl.Series | None = None,
    content_encodings: pl.Series | None = None,
    transfer_encodings: pl.Series | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> tuple[pl.DataFrame, BodyStats]:
    """Scannable text for each body: a frame ``text``, ``truncated``, ``skipped`` and the stats.

    ``transfer_encodings`` is HAR's ``content.encoding`` (``base64``); ``content_encodings``
    the ``Content-Encoding`` header. ``skipped`` is ``binary`` or ``undecodable``.
    """
    n = len(bodies)
    stats = BodyStats(bodies=int(bodies.is_not_null().sum()))
    blank = pl.Series([None] * n, dtype=pl.String)
    frame = pl.DataFrame(
        {
            "body": bodies.cast(pl.String),
            "ctype": content_types.cast(pl.String) if content_types is not None else blank,
            "cenc": content_encodings.cast(pl.String).str.to_lowercase()
            if content_encodings is not None
            else blank,
            "tenc": transfer_encodings.cast(pl.String).str.to_lowercase()
            if transfer_encodings is not None
            else blank,
        }
    )
    binary = frame["ctype"].str.contains(BINARY_CONTENT_TYPES).fill_null(False) & frame["body"].is_not_null()
    stats.binary_skipped = int(binary.sum())
    needs = (
        ~binary
        & frame["body"].is_not_null()
        & (
            (frame["tenc"] == "base64").fill_null(False)
            | frame["cenc"].is_in(["gzip", "x-gzip", "br", "deflate"]).fill_null(False)
        )
    )
    texts = frame["body"].to_list()
    skipped: list[str | None] = [None] * n
    for i in binary.arg_true().to_list():
        texts[i], skipped[i] = None, "binary"
    for i in needs.arg_true().to_list():
        text, why = _decode_one(texts[i], frame["tenc"][i], frame["cenc"][i], stats)
        texts[i], skipped[i] = text, why
    out = pl.Series("text", texts, dtype=pl.String)
    over = (out.str.len_bytes() > max_bytes).fill_null(False)
    truncated = over.to_list()
    if over.any():
        cut = out.to_list()
        for i in over.arg_true().to_list():
            cut[i] = cut[i].encode("utf-8")[:max_bytes].decode("utf-8", "ignore")
        out = pl.Series("text", cut, dtype=pl.String)
        stats.truncated = int(over.sum())
    return pl.DataFrame(
        {"text": out, "truncated": truncated, "skipped": pl.Series(skipped, dtype=pl.String)}
    ), stats


def _decode_one(
    body: str, tenc: str | None, cenc: str | None, stats: BodyStats
) -> tuple[str | None, str | None]:
    data: bytes
    if tenc == "base64":
        try:
            data = base64.b64decode(body, validate=False)
        except (binascii.Error, ValueError):
            stats.undecodable += 1
            return None, "undecodable"
        stats._add(stats.decoded, "base64")
    else:
        data = body.encode("utf-8", "surrogateescape")
    if data[:2] == b"\x1f\x8b":  # HAR tools often store the body already decompressed: trust the magic
        try:
            data = gzip.decompress(data)
            stats._add(stats.decoded, "gzip")
        except (OSError, EOFError, zlib.error):
            stats.undecodable += 1
            return None, "undecodable"
    elif cenc == "deflate":
        try:
            data = zlib.decompress(data)
        except zlib.error:
            try:
                data = zlib.decompress(data, -zlib.MAX_WBITS)  # raw deflate, as some servers send
            except zlib.error:
                stats.undecodable += 1
                return None, "undecodable"
        stats._add(stats.decoded, "deflate")
    elif cenc == "br":
        if brotli is None:
            stats._add(stats.unsupported, "br not supported")
            return None, "undecodable"
        try:
            data = brotli.decompress(data)
            stats._add(stats.decoded, "br")
        except brotli.error:
            stats.undecodable += 1
            return None, "undecodable"
    if b"\x00" in data[:1024]:
        stats.binary_skipped += 1
        return None, "binary"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        stats.invalid_utf8 += 1
        return data.decode("utf-8", "replace"), None

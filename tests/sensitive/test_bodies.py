"""Bodies as captured: base64, gzip/deflate/br, binary, caps and bad UTF-8 never stop a batch."""

from __future__ import annotations

import base64
import gzip
import zlib

import polars as pl

from apisight.sensitive import Scanner
from apisight.sensitive.bodies import prepare_bodies

BODY = b'{"pan":"4111111111111111"}'


def _s(values: list) -> pl.Series:
    return pl.Series(values, dtype=pl.String)


def test_decodings_binary_and_caps(scanner: Scanner) -> None:
    bodies = _s(
        [
            BODY.decode(),  # plain
            base64.b64encode(BODY).decode(),  # HAR content.encoding base64
            base64.b64encode(gzip.compress(BODY)).decode(),  # base64 of gzip
            base64.b64encode(zlib.compress(BODY)).decode(),  # base64 of deflate
            base64.b64encode(b"\xff\xfe" + BODY).decode(),  # invalid UTF-8
            base64.b64encode(b"%PDF-1.7\x00\x01binary").decode(),  # binary by content
            "GIF89a....",  # binary by content type
            "!!!not base64!!!",
            "x" * 50 + BODY.decode(),  # over the cap
            None,
        ]
    )
    tenc = _s([None, "base64", "base64", "base64", "base64", "base64", None, "base64", None, None])
    cenc = _s([None, None, "gzip", "deflate", None, None, None, None, None, None])
    ctype = _s(["application/json"] * 6 + ["image/gif", "application/json", "text/plain", None])
    prepared, stats = prepare_bodies(
        bodies, content_types=ctype, content_encodings=cenc, transfer_encodings=tenc, max_bytes=40
    )
    assert prepared["skipped"].to_list() == [
        None,
        None,
        None,
        None,
        None,
        "binary",
        "binary",
        "undecodable",
        None,
        None,
    ]
    assert prepared["truncated"].to_list() == [False] * 8 + [True, False]
    assert stats.decoded == {"base64": 5, "gzip": 1, "deflate": 1}
    assert (stats.binary_skipped, stats.invalid_utf8, stats.truncated, stats.undecodable) == (2, 1, 1, 1)
    found = scanner.scan(prepared["text"], content_types=ctype)
    assert found["row"].to_list() == [0, 1, 2, 3, 4]  # the truncated row lost its card at the cap


def test_brotli_or_counted_as_unsupported() -> None:
    try:
        import brotli
    except ImportError:
        brotli = None
    data = brotli.compress(BODY) if brotli else b"\x8b\x0b\x80" + BODY
    prepared, stats = prepare_bodies(
        _s([base64.b64encode(data).decode()]), transfer_encodings=_s(["base64"]), content_encodings=_s(["br"])
    )
    if brotli:
        assert prepared["text"].to_list() == [BODY.decode()] and stats.decoded["br"] == 1
    else:
        assert stats.unsupported == {"br not supported": 1}


def test_already_decompressed_har_text_passes_through() -> None:
    prepared, _ = prepare_bodies(_s([BODY.decode()]), content_encodings=_s(["gzip"]))
    assert prepared["text"].to_list() == [BODY.decode()]

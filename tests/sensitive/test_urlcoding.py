"""Percent-decoding for the scanner and the offset map back to the original text."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apisight.sensitive.urlcoding import KEPT, Decoded, UrlDecoder, decode, decode_bytes, plus_as_space


@pytest.mark.parametrize(
    ("text", "mode", "plus", "expected"),
    [
        ("email=john%40example.com", "form", False, "email=john@example.com"),
        ("phone=%2B447700900123", "form", True, "phone=+447700900123"),  # %2B is a '+', not a space
        ("iban=GB82+WEST+1234", "form", True, "iban=GB82 WEST 1234"),
        ("iban=GB82+WEST+1234", "form", False, None),  # nothing to decode with '+' kept
        ("q=a%26b%3Dc%23d%25e%3Ff", "form", False, None),  # & = # % ? stay encoded
        ("a%3Db%26c=d%40e", "form", False, "a%3Db%26c=d@e"),
        ("%25%34%30", "form", False, "%2540"),  # %25 kept: a decoded text never decodes to '@'
        ("/files/john%40example.com%2Fcv.pdf", "path", False, "/files/john@example.com%2Fcv.pdf"),
        ("/a%2Bb+c", "path", False, "/a+b+c"),  # no '+' as space in a path
        ("/a+b?c=d+e%40f#g+h", "url", True, "/a+b?c=d e@f#g+h"),  # only in a URL's query
        ('{"a":"x+y","l":"/p?q=a+b"}', "headers", True, '{"a":"x+y","l":"/p?q=a b"}'),
        ('{"location":"/c?e=a%40b.io&q=%22x%22%5C"}', "headers", False, '{"location":"/c?e=a@b.io&q=%22x%22%5C"}'),
        ("x=%0Aline%0D%00%7F", "form", False, None),  # control characters stay encoded
        ("x=%e2%82%ac", "form", False, "x=€"),  # UTF-8, lower-case hex
        ("x=%FF%FE", "form", False, None),  # not UTF-8: the original is scanned
        ("x=%4&y=%zz&z=%", "form", False, None),  # not escapes
        ("x=%%41", "form", False, "x=%A"),
        ("plain", "form", True, None),
    ],
)
def test_decode(text, mode, plus, expected):
    decoded = decode(text, mode, plus=plus)
    assert (decoded.text if decoded else None) == expected


@pytest.mark.parametrize(
    ("text", "decoded_span", "original_span"),
    [
        ("e=john%40example.com&x=1", "john@example.com", "john%40example.com"),
        ("n=J%C3%A9r%C3%B4me&e=j%40x.io", "j@x.io", "j%40x.io"),  # after multi-byte characters
        ("e=a%40b.io", "a", "a"),
        ("e=a%40b.io", "@", "%40"),
        ("p=%2B447700900123", "+447700900123", "%2B447700900123"),
    ],
)
def test_original_offsets(text, decoded_span, original_span):
    d = decode(text, "form")
    data = d.text.encode()
    start = data.index(decoded_span.encode())
    end = start + len(decoded_span.encode())
    assert text.encode()[d.original(start) : d.original(end)] == original_span.encode()


_PIECES = st.one_of(
    st.sampled_from(["%40", "%2B", "%20", "%41", "%c3%a9", "%E2%82%AC", "%26", "%3D", "%25", "%2F", "%22",
                     "%0A", "%FF", "%4", "%", "+", "&", "=", "/", "?", "#", '"', "é", "a", "7"]),
    st.text(alphabet="abc123@.-_ ", max_size=4),
)


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(_PIECES, max_size=25), mode=st.sampled_from(sorted(KEPT)), plus=st.booleans())
def test_offset_map_round_trips(pieces, mode, plus):
    """Every decoded span maps to an original span that decodes to exactly that span."""
    original = "".join(pieces).encode()
    decoded, escapes = decode_bytes(original, mode, plus=plus)
    spaced = plus_as_space(original, mode) if plus else original  # whether a '+' is a space depends on
    assert len(spaced) == len(original)  # what comes before (a '?' in a URL), not on the span
    m = Decoded("", escapes)
    for start in range(len(decoded) + 1):
        for end in range(start, len(decoded) + 1):
            span = spaced[m.original(start) : m.original(end)]
            assert decode_bytes(span, mode, plus=False)[0] == decoded[start:end]
    assert m.original(len(decoded)) == len(original)


_UNKEPT = st.one_of(
    st.sampled_from(["%40", "%2B", "%20", "%41", "%c3%a9", "%E2%82%AC", "%5B", "%7e", "+", "é", "a", "7"]),
    st.text(alphabet="abc123@.-_ &=", max_size=4),
)


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(_UNKEPT, max_size=25), plus=st.booleans())
def test_offset_map_agrees_with_unquote(pieces, plus):
    """Where nothing is kept encoded, the original span's ``unquote`` is the decoded span."""
    original = "".join(pieces).encode()
    decoded, escapes = decode_bytes(original, "form", plus=plus)
    m = Decoded("", escapes)
    for start in range(len(decoded) + 1):
        for end in range(start, len(decoded) + 1):
            span = original[m.original(start) : m.original(end)]
            assert unquote_to_bytes(span.replace(b"+", b" ") if plus else span) == decoded[start:end]


def test_prepare_touches_only_encoded_rows_and_memoises():
    decoder = UrlDecoder()
    texts = pl.Series(["a=1", None, "e=j%40x.io", "p=+44", "e=j%40x.io"])
    batch = decoder.prepare(texts, None, "form")
    assert batch is not None
    assert batch.texts.to_list()[:5] == ["a=1", None, "e=j@x.io", "p=+44", "e=j@x.io"]
    assert batch.texts.to_list()[5:] == ["p= 44"] and batch.sources == [3]  # '+' as a space: a copy
    assert batch.maps[2] is batch.maps[4]  # one distinct value, decoded once
    assert decoder.prepare(pl.Series(["/a/b", None]), None, "path") is None
    assert decoder.prepare(texts, None, "json") is None


def test_prepare_spaces_plus_only_in_the_query_of_urls():
    decoder = UrlDecoder()
    texts = pl.Series(["https://a.example/x+y?iban=GB82+WEST", "https://a.example/x+y", '{"accept":"a/b+json"}'])
    batch = decoder.prepare(texts, None, "url")
    assert batch is not None and batch.sources == [0] and batch.texts[3] == "https://a.example/x+y?iban=GB82 WEST"
    assert decoder.prepare(texts[1:], None, "headers") is None
    assert decoder.prepare(texts, None, "path") is None


def test_prepare_decodes_bodies_by_content_type():
    decoder = UrlDecoder()
    texts = pl.Series(["e=j%40x.io", "e=j%40x.io", '{"e":"j%40x.io"}', "e=j%40x.io"])
    cts = pl.Series(["application/x-www-form-urlencoded; charset=utf-8", "text/plain", None, None])
    batch = decoder.prepare(texts, cts, None)
    assert batch is not None
    assert sorted(batch.maps) == [0, 3]  # a form by type, and one that looks like a form
    assert batch.content_types[3] == "application/x-www-form-urlencoded"  # its field paths are a form's

"""Percent-encoded and ``+``-spaced values in query strings, paths and form bodies are found,
located by their decoded field names, and masked over exactly their encoded span."""

from __future__ import annotations

import polars as pl
import pytest

from apisight.sensitive.stage import mask_spans

FORM = "application/x-www-form-urlencoded"


def _find(scanner, text, fmt=None, ctype=None):
    kwargs = {"fmt": fmt} if fmt else {"content_types": [ctype]}
    return scanner.scan([text], **kwargs)


@pytest.mark.parametrize(
    ("fmt", "ctype", "text", "type_", "field", "span"),
    [
        # query strings
        ("form", None, "email=john%40example.com&x=1", "email", "$.email", "john%40example.com"),
        ("form", None, "iban=GB82%20WEST%201234%205698%207654%2032", "iban", "$.iban",
         "GB82%20WEST%201234%205698%207654%2032"),
        ("form", None, "a=1&iban=GB82+WEST+1234+5698+7654+32&b=2", "iban", "$.iban", "GB82+WEST+1234+5698+7654+32"),
        ("form", None, "card=4111+1111+1111+1111", "card_number", "$.card", "4111+1111+1111+1111"),
        ("form", None, "card=4111%201111%201111%201111", "card_number", "$.card", "4111%201111%201111%201111"),
        ("form", None, "phone=%2B447700900123", "phone", "$.phone", "%2B447700900123"),
        ("form", None, "mobile=%2B44%207700%20900%20123", "phone", "$.mobile", "%2B44%207700%20900%20123"),
        ("form", None, "ssn=123%2D45%2D6789", "us_ssn", "$.ssn", "123%2D45%2D6789"),
        # decoded parameter names
        ("form", None, "customer%5Bemail%5D=ann%40example.com", "email", '$["customer[email]"]', "ann%40example.com"),
        ("form", None, "contact+email=ann%40example.com", "email", '$["contact email"]', "ann%40example.com"),
        ("form", None, "e%6dail=ann%40example.com", "email", "$.email", "ann%40example.com"),
        ("form", None, "n=J%C3%A9r%C3%B4me&email=j%40example.com", "email", "$.email", "j%40example.com"),
        # a literal '+' is kept where it makes the value: the whole address, the whole number
        ("form", None, "email=john+tag@example.com", "email", "$.email", "john+tag@example.com"),
        ("form", None, "phone=+447700900123", "phone", "$.phone", "+447700900123"),
        ("form", None, "email=john%2Btag%40example.com", "email", "$.email", "john%2Btag%40example.com"),
        # paths: no '+' as space, %2F stays a separator of its own
        ("path", None, "/v1/customers/john%40example.com/cards", "email", "$", "john%40example.com"),
        ("path", None, "/v1/files/john%40example.com%2Fcv.pdf", "email", "$", "john%40example.com"),
        ("path", None, "/v1/iban/GB82%20WEST%201234%205698%207654%2032", "iban", "$",
         "GB82%20WEST%201234%205698%207654%2032"),
        # form bodies, by content type or by their look
        (None, FORM, "amount=10&email=ann%40example.com", "email", "$.email", "ann%40example.com"),
        (None, FORM + "; charset=UTF-8", "pan=4111+1111+1111+1111&x=1", "card_number", "$.pan", "4111+1111+1111+1111"),
        (None, None, "amount=10&email=ann%40example.com", "email", "$.email", "ann%40example.com"),
        (None, None, "iban=GB82+WEST+1234+5698+7654+32", "iban", "$.iban", "GB82+WEST+1234+5698+7654+32"),
    ],
)
def test_encoded_values_are_found_and_masked_over_their_encoded_span(scanner, fmt, ctype, text, type_, field, span):
    found = _find(scanner, text, fmt, ctype)
    hits = found.filter(pl.col("type") == type_).to_dicts()
    assert [(h["field"], text.encode()[h["start"] : h["end"]].decode()) for h in hits] == [(field, span)]
    masked = mask_spans(pl.Series([text]), found).item()
    start = text.index(span)
    assert masked == text[:start] + hits[0]["masked"] + text[start + len(span) :]


@pytest.mark.parametrize(
    ("fmt", "ctype", "text"),
    [
        (None, "application/json", '{"next": "/c?email=ann%40example.com"}'),  # JSON bodies: as they are
        (None, "text/plain", "email=ann%40example.com"),
        ("form", None, "email=ann%40example.com&junk=%FF"),  # not UTF-8 decoded: the original is scanned
        ("form", None, "email=ann%2540example.com"),  # %25 is a '%': the value is ann%40example.com
    ],
)
def test_what_is_not_decoded(scanner, fmt, ctype, text):
    assert _find(scanner, text, fmt, ctype).filter(pl.col("type") == "email").height == 0


def test_rows_keep_their_offsets_in_a_mixed_batch(scanner):
    texts = ["x=1", None, "email=ann%40example.com", "email=bob@example.com", "phone=%2B447700900123&e=c%40d.io"]
    found = scanner.scan(texts, fmt="form").sort("row", "start")
    got = [(r["row"], texts[r["row"]].encode()[r["start"] : r["end"]].decode()) for r in found.to_dicts()]
    assert got == [(2, "ann%40example.com"), (3, "bob@example.com"), (4, "%2B447700900123"), (4, "c%40d.io")]
    masked = mask_spans(pl.Series(texts), found).to_list()
    assert masked[:2] == ["x=1", None]
    assert not any(v in "".join(m or "" for m in masked) for v in ("ann", "bob@", "447700900123", "c%40d", "c@d"))


def test_one_value_has_one_fingerprint_encoded_or_not(scanner):
    found = scanner.scan(["e=ann%40example.com", "e=ann@example.com", "e=ANN%40example.com"], fmt="form")
    assert found.height == 3 and found["fingerprint"].n_unique() == 1

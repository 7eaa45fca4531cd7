"""Field conversions shared by readers, one table per conversion."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest

from apisight.readers.fields import (
    duration_ms,
    epoch_ms,
    flat_headers,
    header_values,
    null_dash,
    parse_timestamp,
    peer_address,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def convert(expr: pl.Expr, value: str) -> object:
    return pl.DataFrame({"v": [value]}, schema={"v": pl.String}).select(expr).item()


V = pl.col("v")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-21T09:59:53Z", utc(2024, 5, 21, 9, 59, 53)),
        ("2024-05-21T09:59:53.5-05:00", utc(2024, 5, 21, 14, 59, 53, 500000)),
        ("2024-05-21 09:59:53.123", utc(2024, 5, 21, 9, 59, 53, 123000)),  # no offset: UTC
        ("2024-05-21T09:59:53+0200", utc(2024, 5, 21, 7, 59, 53)),
        (" 2024-05-21T09:59:53Z ", utc(2024, 5, 21, 9, 59, 53)),
        ("21/May/2024:09:59:53 +0000", utc(2024, 5, 21, 9, 59, 53)),
        ("Tue, 21 May 2024 09:59:53 GMT", utc(2024, 5, 21, 9, 59, 53)),
        ("1716285593", utc(2024, 5, 21, 9, 59, 53)),  # epoch seconds
        ("1716285593.25", utc(2024, 5, 21, 9, 59, 53, 250000)),
        ("1716285593157", utc(2024, 5, 21, 9, 59, 53, 157000)),  # milliseconds
        ("1716285593157123", utc(2024, 5, 21, 9, 59, 53, 157123)),  # microseconds
        ("1716285593157123456", utc(2024, 5, 21, 9, 59, 53, 157123)),  # nanoseconds
        ("last tuesday", None),
        ("", None),
    ],
)
def test_parse_timestamp(value: str, expected: datetime | None) -> None:
    assert convert(parse_timestamp(V), value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1614232668342", utc(2021, 2, 25, 5, 57, 48, 342000)),
        ("1614232668342.5", utc(2021, 2, 25, 5, 57, 48, 342500)),
        ("0", utc(1970, 1, 1)),
        ("-1", None),
        ("1e15", None),  # past year 5138: not epoch milliseconds
        ("yesterday", None),
    ],
)
def test_epoch_ms(value: str, expected: datetime | None) -> None:
    assert convert(epoch_ms(V), value) == expected


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        ("12", "ms", 12.0),
        ("0.515", "s", 515.0),
        ("12ms", "s", 12.0),  # an explicit unit wins
        ("0.25s", "ms", 250.0),
        ("1500us", "ms", 1.5),
        ("1500µs", "ms", 1.5),
        ("2000000ns", "ms", 2.0),
        (" 7 ms ", "ms", 7.0),
        ("1e3", "ms", 1000.0),
        ("-", "ms", None),
        ("12 parsecs", "ms", None),
    ],
)
def test_duration_ms(value: str, unit: str, expected: float | None) -> None:
    assert convert(duration_ms(V, unit), value) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("203.0.113.9:51234", "203.0.113.9"),
        ("[2001:db8::7]:51234", "2001:db8::7"),
        ("[::1]", "::1"),
        ("2001:db8::7", "2001:db8::7"),  # bare IPv6: its last group is not a port
        (" 10.0.0.1 ", "10.0.0.1"),
        ("-", None),
        ("", None),
    ],
)
def test_peer_address(value: str, expected: str | None) -> None:
    assert convert(peer_address(V), value) == expected


@pytest.mark.parametrize(("value", "expected"), [("-", None), ("", None), ("x", "x"), (" - ", " - ")])
def test_null_dash(value: str, expected: str | None) -> None:
    assert convert(null_dash(V), value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"host":"a","user-agent":"b"}', '{"host":"a","user-agent":"b"}'),
        ('{"host": "a", "user-agent": "b"}', '{"host":"a","user-agent":"b"}'),  # as Polars writes JSON
        ('{"x": "a\\", \\"b"}', '{"x":"a\\", \\"b"}'),  # separators inside a string stay
        ("{}", "{}"),
        ('{"x-ff": ["1.2.3.4", "10.0.0.2"]}', '{"x-ff":"1.2.3.4, 10.0.0.2"}'),  # repeated header
        ('{"Host": "a", "host": "b"}', '{"host":"a, b"}'),
        ('{"x-n": 2, "x-t": true, "x-z": null}', '{"x-n":"2","x-t":"true"}'),
        ("{broken", None),
        ("plain text", None),
        ("[1]", None),
        (None, None),
    ],
    ids=[
        "compact",
        "spaced",
        "quoted-separators",
        "empty",
        "array",
        "upper-case",
        "non-string",
        "broken",
        "text",
        "array-not-map",
        "null",
    ],
)
def test_flat_headers(text: str | None, expected: str | None) -> None:
    frame = pl.DataFrame({"h": [text, '{"a":"b"}']}, schema={"h": pl.String})
    out = flat_headers(frame, ["h"])["h"].to_list()
    assert out == [expected, '{"a":"b"}']
    if expected is not None:
        json.loads(expected)


def test_flat_headers_leaves_other_columns_alone() -> None:
    frame = pl.DataFrame({"h": ['{"A": "1"}'], "other": ['{"A": "1"}']})
    assert flat_headers(frame, ["h"]).row(0) == ('{"a":"1"}', '{"A": "1"}')


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"user-agent":"curl/8","referer":"r"}', {"user-agent": "curl/8", "x-request-id": None}),
        ('{"user-agent":"say \\"hi\\""}', {"user-agent": 'say "hi"', "x-request-id": None}),
        ("{}", {"user-agent": None, "x-request-id": None}),
        (None, None),
    ],
)
def test_header_values(text: str | None, expected: dict | None) -> None:
    frame = pl.DataFrame({"h": [text]}, schema={"h": pl.String})
    assert frame.select(header_values(pl.col("h"), ["user-agent", "x-request-id"])).item() == expected

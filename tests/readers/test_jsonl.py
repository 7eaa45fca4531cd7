"""Generic JSON lines: user field maps, guessed keys, timestamp shapes and bad lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apisight.errors import ConfigError
from apisight.readers.base import ReaderOptions
from apisight.readers.jsonl import JsonlReader

from .helpers import lines_frame

# nginx with the JSON log_format of Kong's support article "Configuring Kong Gateway to
# output logs as JSON objects" (time_local, remote_addr, request, status, ...).
NGINX_JSON = (
    '{"time_local":"25/Feb/2021:05:57:48 +0000","remote_addr":"192.168.144.1","remote_user":"",'
    '"request":"GET /log?page=2 HTTP/1.1","status": "200","body_bytes_sent":"503","request_time":"0.515",'
    '"http_referrer":"","http_user_agent":"HTTPie/2.4.0"}'
)
# pino-http's "request completed" line, as in its README.
PINO = (
    '{"level":30,"time":1531171074631,"pid":46735,"hostname":"x","req":{"id":1,"method":"GET","url":"/",'
    '"headers":{"host":"localhost:3000","user-agent":"curl/7.43.0","accept":"*/*"},"remoteAddress":"::1",'
    '"remotePort":64386},"res":{"statusCode":200,"headers":{"x-powered-by":"Express",'
    '"content-type":"text/plain; charset=utf-8","content-length":"12"}},"responseTime":8,'
    '"msg":"request completed"}'
)
APP = (
    '{"@timestamp":"2024-05-21T09:59:53.123456+02:00","method":"post","path":"/v1/transfers","status":201,'
    '"client_ip":"[2001:db8::7]:51234","duration_ms":"12.5","request_id":"r-1","user_agent":"okhttp/4.12"}'
)
FIELD_MAP = {
    "ts": "$.time",
    "method": "$.req.method",
    "path": "$.req.path",
    "status": "$.res.status",
    "peer_ip": "$.remote",
    "latency_ms": "$['took ms']",
    "principal": "$.auth.sub",
}
MAPPED = (
    '{"time":"2023-12-31T23:59:59Z","req":{"method":"DELETE","path":"/v1/cards/9"},"res":{"status":204},'
    '"remote":"198.51.100.4","took ms":3,"auth":{"sub":"user-17"},"status":"ignored"}'
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def only_record(line: str, field_map: dict[str, str] | None = None) -> dict:
    result = JsonlReader(ReaderOptions(field_map=field_map or {})).parse(lines_frame([line]))
    assert result.malformed.height == 0, result.malformed.to_dicts()
    assert result.records.height == 1
    return result.records.row(0, named=True)


@pytest.mark.parametrize(
    ("line", "field_map", "expected"),
    [
        (
            NGINX_JSON,
            None,
            {
                "ts": utc(2021, 2, 25, 5, 57, 48),
                "method": "GET",
                "target": "/log?page=2",
                "status": 200,
                "latency_ms": 515.0,
                "peer_ip": "192.168.144.1",
                "response_bytes": 503,
                "referer": None,
                "remote_user": None,
                "user_agent": "HTTPie/2.4.0",
            },
        ),
        (
            PINO,
            None,
            {
                "ts": utc(2018, 7, 9, 21, 17, 54, 631000),
                "method": "GET",
                "target": "/",
                "status": 200,
                "latency_ms": 8.0,
                "peer_ip": "::1",
                "request_id": "1",
            },
        ),
        (
            APP,
            None,
            {
                "ts": utc(2024, 5, 21, 7, 59, 53, 123456),
                "method": "POST",
                "target": "/v1/transfers",
                "status": 201,
                "latency_ms": 12.5,
                "peer_ip": "2001:db8::7",
                "request_id": "r-1",
                "user_agent": "okhttp/4.12",
            },
        ),
        (
            MAPPED,
            FIELD_MAP,
            {
                "ts": utc(2023, 12, 31, 23, 59, 59),
                "method": "DELETE",
                "path": "/v1/cards/9",
                "status": 204,
                "peer_ip": "198.51.100.4",
                "latency_ms": 3.0,
                "principal": "user-17",
            },
        ),
    ],
    ids=["nginx-json", "pino-http", "app-iso-offset", "field-map"],
)
def test_records(line: str, field_map: dict[str, str] | None, expected: dict) -> None:
    record = only_record(line, field_map)
    assert {k: record[k] for k in expected} == expected


def test_pino_headers_are_kept_as_json_objects() -> None:
    record = only_record(PINO)
    assert json.loads(record["request_headers"])["user-agent"] == "curl/7.43.0"
    assert json.loads(record["response_headers"])["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"2024-05-21T09:59:53Z"', utc(2024, 5, 21, 9, 59, 53)),
        ('"2024-05-21T09:59:53.5-05:00"', utc(2024, 5, 21, 14, 59, 53, 500000)),
        ('"2024-05-21 09:59:53.123"', utc(2024, 5, 21, 9, 59, 53, 123000)),  # no offset: UTC
        ('"2024-05-21T09:59:53+0200"', utc(2024, 5, 21, 7, 59, 53)),
        ("1716285593", utc(2024, 5, 21, 9, 59, 53)),  # epoch seconds
        ("1716285593.25", utc(2024, 5, 21, 9, 59, 53, 250000)),
        ("1716285593157", utc(2024, 5, 21, 9, 59, 53, 157000)),  # epoch milliseconds
        ('"1716285593157"', utc(2024, 5, 21, 9, 59, 53, 157000)),
        ('"21/May/2024:09:59:53 +0000"', utc(2024, 5, 21, 9, 59, 53)),
    ],
)
def test_timestamp_shapes(value: str, expected: datetime) -> None:
    line = f'{{"ts": {value}, "method": "GET", "url": "/", "status": 200}}'
    assert only_record(line)["ts"] == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [('"12ms"', 12.0), ('"0.25s"', 250.0), ('"1500us"', 1.5), ("7", 7.0), ('"-"', None)],
)
def test_latency_units(value: str, expected: float | None) -> None:
    line = f'{{"ts": 1716285593, "method": "GET", "url": "/", "status": 200, "latency": {value}}}'
    assert only_record(line)["latency_ms"] == expected


def test_field_map_overrides_guesses_and_guesses_fill_the_rest() -> None:
    line = '{"time": 1716285593, "verb": "PUT", "url": "/guessed", "real_path": "/mapped", "status": 200}'
    record = only_record(line, {"target": "$.real_path"})
    assert (record["method"], record["target"]) == ("PUT", "/mapped")


def test_unknown_field_in_map_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as info:
        JsonlReader(ReaderOptions(field_map={"timestamp": "$.time", "method": "$.m"}))
    message = str(info.value)
    assert "timestamp" in message and "valid fields:" in message
    assert "ts" in message and "peer_ip" in message and "line_no" not in message


def test_field_map_path_must_be_jsonpath() -> None:
    with pytest.raises(ConfigError, match=r"field_map\.ts"):
        JsonlReader(ReaderOptions(field_map={"ts": "time"}))


def test_bad_lines_are_reported_and_good_ones_kept() -> None:
    lines = [
        APP,
        APP[:60],  # truncated
        APP.replace("2024-05-21T09:59:53.123456+02:00", "last tuesday"),
        APP.replace('"status":201', '"status":"Created"'),
        '{"level": "info", "msg": "listening on :8080"}',
        "\x00\x01\xff binary \ufffd",
        '["GET", "/", 200]',
        APP.replace('"@timestamp":"2024-05-21T09:59:53.123456+02:00",', ""),
        NGINX_JSON,
    ]
    result = JsonlReader().parse(lines_frame(lines))
    assert result.records["line_no"].to_list() == [1, 9]
    reasons = dict(result.malformed.select("line_no", "reason").iter_rows())
    assert reasons.keys() == {2, 3, 4, 5, 6, 7, 8}
    assert reasons[2].startswith("invalid JSON") and reasons[6].startswith("invalid JSON")
    assert reasons[3] == "bad timestamp"
    assert reasons[4] == "bad status"
    assert reasons[5].startswith("no request fields")
    assert reasons[7] == "expected a JSON object, got list"
    assert reasons[8].startswith("missing timestamp")


@pytest.mark.parametrize(
    ("head", "field_map", "expected"),
    [
        ([APP, NGINX_JSON], None, True),
        ([PINO], None, True),
        (['{"level": "info", "msg": "listening"}', '{"level": "warn", "msg": "slow"}'], None, False),
        (['{"level": "info", "msg": "listening"}'], {"ts": "$.time"}, True),
        (
            [
                '[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "-" "-" "-" "-" "-"'
            ],
            {"ts": "$.time"},
            False,
        ),
    ],
    ids=["common-keys", "pino", "app-log", "field-map", "not-json"],
)
def test_sniff(head: list[str], field_map: dict[str, str] | None, expected: bool) -> None:
    assert JsonlReader(ReaderOptions(field_map=field_map or {})).sniff(head) is expected


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
KEYS = st.sampled_from(
    [
        "time",
        "ts",
        "@timestamp",
        "method",
        "url",
        "path",
        "status",
        "remote_addr",
        "latency",
        "request",
        "req",
        "res",
        "request_headers",
        "x",
    ]
)
OBJECTS = st.dictionaries(KEYS, JSON_VALUES, max_size=6).map(json.dumps)


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(
        st.one_of(TEXT, OBJECTS, st.sampled_from([APP, PINO, NGINX_JSON])), min_size=1, max_size=10
    ),
    mapped=st.booleans(),
)
def test_every_line_lands_in_exactly_one_place(lines: list[str], mapped: bool) -> None:
    reader = JsonlReader(ReaderOptions(field_map=FIELD_MAP if mapped else {}))
    result = reader.parse(lines_frame(lines))
    seen = result.records["line_no"].to_list() + result.malformed["line_no"].to_list()
    assert sorted(seen) == list(range(1, len(lines) + 1))
    assert result.records.select(pl.col("ts").null_count()).item() == 0

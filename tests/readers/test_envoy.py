"""Envoy / Istio access logs: default text format, Istio's variants of it, and JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apisight.readers.envoy import EnvoyReader

from .helpers import TEXT, lines_frame, mutated

SAMPLES = Path(__file__).parent / "samples" / "envoy"
TEXT_LINES = (SAMPLES / "envoy-default.log").read_text().splitlines()
JSON_LINES = (SAMPLES / "istio.jsonl").read_text().splitlines()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def only_record(line: str) -> dict:
    result = EnvoyReader().parse(lines_frame([line]))
    assert result.malformed.height == 0, result.malformed.to_dicts()
    assert result.records.height == 1
    return result.records.row(0, named=True)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            TEXT_LINES[0],
            {
                "ts": utc(2016, 4, 15, 20, 17, 0, 310000),
                "method": "POST",
                "target": "/api/v1/locations",
                "status": 204,
                "latency_ms": 226.0,
                "request_bytes": 154,
                "response_bytes": 0,
                "forwarded_for": "10.0.35.28",
                "user_agent": "nsq2http",
                "host": "locations",
                "peer_ip": None,
                "request_id": "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2",
            },
        ),
        (
            TEXT_LINES[1],
            {
                "ts": utc(2019, 3, 6, 9, 31, 27, 360000),
                "method": "GET",
                "target": "/status/418",
                "status": 418,
                "latency_ms": 5.0,
                "response_bytes": 135,
                "forwarded_for": None,
                "user_agent": "curl/7.60.0",
                "host": "httpbin:8000",
                "peer_ip": "172.30.146.82",
            },
        ),
        (
            TEXT_LINES[2],
            {
                "ts": utc(2020, 11, 25, 21, 26, 18, 409000),
                "status": 418,
                "latency_ms": 4.0,
                "user_agent": "curl/7.73.0-DEV",
                "peer_ip": "10.44.1.23",
                "request_id": "84961386-6d84-929d-98bd-c5aee93b5c88",
            },
        ),
        (
            TEXT_LINES[3],
            {
                "latency_ms": 187.0,
                "forwarded_for": "10.127.220.75",
                "host": "httpbin.org",
                "peer_ip": "10.127.220.75",
            },
        ),
        (
            JSON_LINES[0],
            {
                "ts": utc(2020, 11, 25, 21, 26, 18, 409000),
                "method": "GET",
                "target": "/status/418",
                "status": 418,
                "latency_ms": 4.0,
                "request_bytes": 0,
                "response_bytes": 135,
                "forwarded_for": None,
                "host": "httpbin:8000",
                "peer_ip": "10.44.1.23",
                "user_agent": "curl/7.73.0-DEV",
            },
        ),
        (
            JSON_LINES[1],
            {
                "ts": utc(2019, 3, 6, 9, 31, 27, 360000),
                "target": "/status/418?debug=1",
                "status": 418,
                "latency_ms": 5.0,
                "forwarded_for": None,
                "peer_ip": "172.30.146.82",
            },
        ),
    ],
    ids=["envoy-docs", "istio-1.1", "istio-1.8", "istio-egress", "istio-json-typed", "istio-json-strings"],
)
def test_documented_lines(line: str, expected: dict) -> None:
    record = only_record(line)
    assert {k: record[k] for k in expected} == expected


def test_json_prefers_the_direct_peer_and_takes_x_request_id() -> None:
    entry = json.loads(JSON_LINES[0])
    entry.pop("request_id")
    entry.update(
        x_request_id="abc-123",
        downstream_direct_remote_address="[2001:db8::5]:443",
        downstream_remote_address="203.0.113.9:0",
    )
    record = only_record(json.dumps(entry))
    assert (record["peer_ip"], record["request_id"]) == ("2001:db8::5", "abc-123")


def test_tcp_and_disconnected_entries_are_kept() -> None:
    tcp = '[2021-06-01T10:00:00.000Z] "- - -" 0 UF 0 0 12 - "-" "-" "-" "-" "10.0.0.9:5432"'
    record = only_record(tcp)
    assert (record["method"], record["target"], record["status"], record["latency_ms"]) == (
        None,
        None,
        0,
        12.0,
    )


def test_mixed_batch_reports_bad_lines_with_their_numbers() -> None:
    lines = [
        TEXT_LINES[0],
        JSON_LINES[0],
        '[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154',  # wrong field count
        TEXT_LINES[1].replace("2019-03-06T09:31:27.360Z", "06/Mar/2019:09:31:27"),
        TEXT_LINES[2].replace('" 418 - via_upstream', '" 4x8 - via_upstream'),
        JSON_LINES[1][:80],  # truncated JSON
        json.dumps({**json.loads(JSON_LINES[0]), "start_time": "not a time"}),
        "\x89PNG\r\x1a\x00\x00 garbage",
        '{"level": "info", "msg": "envoy started"}',
        TEXT_LINES[3],
    ]
    result = EnvoyReader().parse(lines_frame(lines))
    assert result.records["line_no"].to_list() == [1, 2, 10]
    reasons = dict(result.malformed.select("line_no", "reason").iter_rows())
    assert reasons.keys() == {3, 4, 5, 6, 7, 8, 9}
    assert reasons[3] == reasons[8] == "does not match the Envoy default access log format"
    assert reasons[4] == reasons[7] == "bad timestamp"
    assert reasons[5] == "bad status"
    assert reasons[6].startswith("invalid JSON")
    assert reasons[9].startswith("not an Envoy access log entry")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (TEXT_LINES, True),
        (JSON_LINES, True),
        (['{"started_at": 1614232668342, "latencies": {"request": 5}, "request": {"method": "GET"}}'], False),
        (['{"time": "2021-01-01T00:00:00Z", "method": "GET", "path": "/", "status": 200}'], False),
        (
            [
                'http 2018-07-02T22:23:00.186641Z app/my-lb/50dc 1.2.3.4:1 - 0.0 0.0 0.0 200 200 1 1 "GET http://a/ HTTP/1.1"'
            ],
            False,
        ),
    ],
    ids=["text", "json", "kong", "generic-json", "alb"],
)
def test_sniff(head: list[str], expected: bool) -> None:
    assert EnvoyReader().sniff(head) is expected




SAMPLE_LINES = TEXT_LINES + JSON_LINES


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(TEXT, st.sampled_from(SAMPLE_LINES), mutated(SAMPLE_LINES)), min_size=1, max_size=12)
)
def test_every_line_lands_in_exactly_one_place(lines: list[str]) -> None:
    result = EnvoyReader().parse(lines_frame(lines))
    seen = result.records["line_no"].to_list() + result.malformed["line_no"].to_list()
    assert sorted(seen) == list(range(1, len(lines) + 1))
    assert result.records["ts"].null_count() == 0

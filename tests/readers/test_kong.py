"""Kong logging-plugin JSON entries: the documented examples, repeated headers, bad lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apisight.readers import jsonlines
from apisight.readers.kong import KongReader

from .helpers import TEXT, lines_frame, mutated

SAMPLES = Path(__file__).parent / "samples" / "kong"
DOC_LINES = (SAMPLES / "kong-docs-examples.jsonl").read_text().splitlines()
KONG_22, KONG_38 = (json.loads(line) for line in DOC_LINES)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def entry(base: dict, **changes: object) -> str:
    """``base`` with top-level keys replaced (``None`` removes one), as one JSON line."""
    changed = {**base, **changes}
    return json.dumps({k: v for k, v in changed.items() if v is not None})


def only_record(line: str) -> dict:
    result = KongReader().parse(lines_frame([line]))
    assert result.malformed.height == 0, result.malformed.to_dicts()
    assert result.records.height == 1
    return result.records.row(0, named=True)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            DOC_LINES[0],
            {
                "ts": utc(2021, 2, 25, 5, 57, 48, 342000),
                "method": "GET",
                "target": "http://localhost:8000/log",
                "status": 200,
                "latency_ms": 515.0,
                "request_bytes": 138,
                "response_bytes": 827,
                "peer_ip": "192.168.144.1",
                "user_agent": "HTTPie/2.4.0",
                "principal": "foo",
                "request_id": None,
                "response_content_type": "application/json",
            },
        ),
        (
            DOC_LINES[1],
            {
                "ts": utc(2024, 9, 19, 22, 10, 39, 538000),
                "method": "POST",
                "target": "http://localhost:8000/example-route",
                "status": 200,
                "latency_ms": 173.0,
                "request_bytes": 139,
                "response_bytes": 9982,
                "peer_ip": "192.168.65.1",
                "user_agent": "HTTPie/3.2.3",
                "principal": None,
                "request_id": "2f6946328ffc4946b8c9120704a4a155",
                "response_content_type": "text/html; charset=utf-8",
            },
        ),
    ],
    ids=["kong-2.2.1", "kong-3.8"],
)
def test_documented_examples(line: str, expected: dict) -> None:
    record = only_record(line)
    assert {k: record[k] for k in expected} == expected
    headers = json.loads(record["request_headers"])
    assert headers["host"] == "localhost:8000"


def test_request_headers_keep_everything_kong_logged() -> None:
    record = only_record(DOC_LINES[0])
    assert json.loads(record["request_headers"]) == KONG_22["request"]["headers"]
    assert json.loads(record["response_headers"])["x-kong-upstream-latency"] == "457"


def test_repeated_headers_are_flattened_without_the_slow_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_slow_path(*args: object) -> None:
        raise AssertionError("decoded line by line")

    monkeypatch.setattr(jsonlines, "_decode_each", no_slow_path)
    request = {
        **KONG_22["request"],
        "url": "https://api.bank.example:443/v1/accounts/42/transactions?limit=10",
        "headers": {
            "host": "api.bank.example",
            "Authorization": ["Bearer aaa", "Bearer bbb"],
            "x-forwarded-for": ["203.0.113.7", "10.0.0.2"],
            "x-api-version": 2,
        },
    }
    lines = [DOC_LINES[0], entry(KONG_22, request=request), DOC_LINES[1]]
    result = KongReader().parse(lines_frame(lines))
    assert result.malformed.height == 0
    record = result.records.row(1, named=True)
    assert json.loads(record["request_headers"]) == {
        "host": "api.bank.example",
        "authorization": "Bearer aaa, Bearer bbb",
        "x-forwarded-for": "203.0.113.7, 10.0.0.2",
        "x-api-version": "2",
    }
    assert record["forwarded_for"] == "203.0.113.7, 10.0.0.2"
    assert record["target"] == "https://api.bank.example:443/v1/accounts/42/transactions?limit=10"


def test_principal_falls_back_to_custom_id_and_body_is_taken_when_logged() -> None:
    request = {**KONG_38["request"], "body": {"iban": "DE89370400440532013000"}}
    line = entry(KONG_38, consumer={"id": "c1", "custom_id": "partner-17"}, request=request)
    record = only_record(line)
    assert record["principal"] == "partner-17"
    assert json.loads(record["request_body"]) == {"iban": "DE89370400440532013000"}


def test_uri_is_the_target_when_url_is_missing() -> None:
    request = {k: v for k, v in KONG_22["request"].items() if k != "url"} | {"uri": "/log?page=2"}
    assert only_record(entry(KONG_22, request=request))["target"] == "/log?page=2"


def test_bad_lines_are_reported_and_good_ones_kept() -> None:
    lines = [
        DOC_LINES[0],
        DOC_LINES[1][: len(DOC_LINES[1]) // 2],  # truncated
        "[" + DOC_LINES[0] + "]",  # a batch array (http-log with max_batch_size > 1)
        entry(KONG_22, started_at="yesterday"),
        entry(KONG_22, response={**KONG_22["response"], "status": "two hundred"}),
        entry(KONG_22, request=None, response=None),
        "\x1f\x8b\x08\x00 binary",
        DOC_LINES[1],
        "[1, 2]",
    ]
    result = KongReader().parse(lines_frame(lines))
    assert result.records["line_no"].to_list() == [1, 3, 8]
    reasons = dict(result.malformed.select("line_no", "reason").iter_rows())
    assert reasons.keys() == {2, 4, 5, 6, 7, 9}
    assert reasons[2].startswith("invalid JSON") and reasons[7].startswith("invalid JSON")
    assert reasons[4] == "bad timestamp (started_at)"
    assert reasons[5] == "bad status"
    assert reasons[6].startswith("not a Kong request entry")
    assert reasons[9] == "array index 1: expected a JSON object, got int"  # the last of the line's reasons


def batch(*entries: object) -> str:
    """One http-log line with ``max_batch_size > 1``: a JSON array of entries."""
    return json.dumps(list(entries))


def test_batched_entries_are_records_of_their_line() -> None:
    lines = [batch(KONG_22, KONG_38, KONG_22), DOC_LINES[1], batch(KONG_38)]
    result = KongReader().parse(lines_frame(lines))
    assert result.malformed.height == 0
    assert result.records["line_no"].to_list() == [1, 1, 1, 2, 3]
    assert result.records["method"].to_list() == ["GET", "POST", "GET", "POST", "POST"]
    assert "element" not in result.records.columns


@pytest.mark.parametrize(
    ("line", "records", "reasons"),
    [
        (
            batch(KONG_22, {**KONG_22, "started_at": "yesterday"}, KONG_38),
            2,
            ["array index 1: bad timestamp (started_at)"],
        ),
        (
            batch(KONG_22, {**KONG_22, "request": None, "response": None}),
            1,
            ["array index 1: not a Kong request entry"],
        ),
        (batch(KONG_22, None), 1, ["array index 1: expected a JSON object, got null"]),
        (batch(7, KONG_38), 1, ["array index 0: expected a JSON object, got int"]),
        (batch(KONG_22, {**KONG_38, "request": "GET /"}), 1, ["array index 1: unexpected field type"]),
        ("[]", 0, ["empty JSON array"]),
        (batch(KONG_22)[:-1], 0, ["invalid JSON"]),
    ],
    ids=["bad-timestamp", "not-an-entry", "null", "not-an-object", "wrong-type", "empty", "truncated"],
)
def test_bad_entries_of_a_batch_are_reported_with_their_index(
    line: str, records: int, reasons: list[str]
) -> None:
    result = KongReader().parse(lines_frame([DOC_LINES[0], line]))
    assert result.records["line_no"].to_list() == [1] + [2] * records
    assert result.malformed["line_no"].to_list() == [2] * len(reasons)
    for got, expected in zip(result.malformed["reason"], reasons, strict=True):
        assert got.startswith(expected)


def test_batches_with_repeated_headers_are_flattened() -> None:
    request = {**KONG_22["request"], "headers": {"host": "a", "X-Forwarded-For": ["203.0.113.7", "10.0.0.2"]}}
    record = (
        KongReader()
        .parse(lines_frame([batch(KONG_38, {**KONG_22, "request": request})]))
        .records.row(1, named=True)
    )
    assert json.loads(record["request_headers"]) == {"host": "a", "x-forwarded-for": "203.0.113.7, 10.0.0.2"}
    assert record["forwarded_for"] == "203.0.113.7, 10.0.0.2"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (DOC_LINES, True),
        ([json.dumps([KONG_22, KONG_38])], True),
        (
            [
                '{"start_time":"2020-11-25T21:26:18.409Z","method":"GET","path":"/","response_code":200,"duration":4}'
            ],
            False,
        ),
        (
            [
                '{"time": "2021-01-01T00:00:00Z", "method": "GET", "path": "/", "status": 200, "latency_ms": 3}'
            ],
            False,
        ),
        (
            [
                '[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "-" "-" "-" "-" "-"'
            ],
            False,
        ),
    ],
    ids=["kong", "kong-batch", "envoy-json", "generic-json", "envoy-text"],
)
def test_sniff(head: list[str], expected: bool) -> None:
    assert KongReader().sniff(head) is expected




JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def odd_types(draw: st.DrawFn) -> str:
    """A documented entry with one field replaced by an arbitrary JSON value."""
    base = draw(st.sampled_from([KONG_22, KONG_38]))
    key = draw(st.sampled_from(["started_at", "client_ip", "request", "response", "latencies", "consumer"]))
    return json.dumps({**base, key: draw(JSON_VALUES)})


@st.composite
def batches(draw: st.DrawFn) -> str:
    """A batch line of documented entries, odd ones and arbitrary values."""
    entries = st.one_of(st.sampled_from([KONG_22, KONG_38]), odd_types().map(json.loads), JSON_VALUES)
    return json.dumps(draw(st.lists(entries, max_size=4)))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(TEXT, st.sampled_from(DOC_LINES), mutated(DOC_LINES), odd_types(), batches()),
        min_size=1,
        max_size=10,
    )
)
def test_every_line_lands_somewhere_and_every_object_line_in_one_place(lines: list[str]) -> None:
    result = KongReader().parse(lines_frame(lines))
    kept, rejected = result.records["line_no"].to_list(), result.malformed["line_no"].to_list()
    assert set(kept) | set(rejected) == set(range(1, len(lines) + 1))
    singles = [n for n, line in enumerate(lines, 1) if not line.lstrip().startswith("[")]
    assert sorted(n for n in kept + rejected if n in singles) == singles
    assert result.records["ts"].null_count() == 0

import base64
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apisight.readers.har import HarReader
from apisight.readers.harl import HarlReader
from apisight.sources import Source

from .helpers import lines_frame, one


def entry(**over):
    e = {
        "startedDateTime": "2026-11-28T10:15:32.123Z",
        "time": 41.5,
        "_clientIP": "203.0.113.9",
        "request": {
            "method": "post",
            "url": "https://api.demobank.example/v1/payees?dry_run=1",
            "httpVersion": "HTTP/1.1",
            "headers": [
                {"name": "Host", "value": "api.demobank.example"},
                {"name": "User-Agent", "value": "DemoBank/5.2 (iPhone; iOS 17.1)"},
                {"name": "X-Request-Id", "value": "req-42"},
                {"name": "Content-Type", "value": "application/json"},
            ],
            "queryString": [{"name": "dry_run", "value": "1"}],
            "postData": {"mimeType": "application/json", "text": '{"name": "Ann"}'},
            "headersSize": -1,
            "bodySize": 15,
        },
        "response": {
            "status": 201,
            "statusText": "Created",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": "Content-Type", "value": "application/json; charset=utf-8"}],
            "content": {"size": 12, "mimeType": "application/json; charset=utf-8", "text": '{"id": "p-1"}'},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": 12,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 41.5, "receive": 0},
    }
    e.update(over)
    return e


def test_harl_entry_maps_every_field():
    record = one(HarlReader().parse(lines_frame([orjson.dumps(entry()).decode()])).records)
    assert record["ts"] == datetime(2026, 11, 28, 10, 15, 32, 123000, tzinfo=UTC)
    assert record["latency_ms"] == 41.5
    assert record["peer_ip"] == "203.0.113.9"
    assert record["method"] == "POST"
    assert record["target"] == "https://api.demobank.example/v1/payees?dry_run=1"
    assert record["status"] == 201
    assert (record["request_bytes"], record["response_bytes"]) == (15, 12)
    assert record["user_agent"] == "DemoBank/5.2 (iPhone; iOS 17.1)"
    assert record["request_id"] == "req-42"
    assert record["request_body"] == '{"name": "Ann"}'
    assert record["response_body"] == '{"id": "p-1"}'
    assert record["response_content_type"].startswith("application/json")
    assert orjson.loads(record["request_headers"])["host"] == "api.demobank.example"


def test_without_client_ip_the_client_is_unknown_not_invented():
    e = entry(serverIPAddress="10.9.9.9")
    del e["_clientIP"]
    assert one(HarlReader().parse(lines_frame([orjson.dumps(e).decode()])).records)["peer_ip"] is None


def test_base64_bodies_are_decoded_and_binary_ones_dropped():
    e = entry()
    e["response"]["content"] = {"size": 9, "mimeType": "application/json", "encoding": "base64",
                                "text": base64.b64encode(b'{"ok": 1}').decode()}
    e["request"]["postData"] = {"mimeType": "image/png", "text": "\x89PNG..."}
    record = one(HarlReader().parse(lines_frame([orjson.dumps(e).decode()])).records)
    assert record["response_body"] == '{"ok": 1}'
    assert record["request_body"] is None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"startedDateTime": "2026-11-28T10:15', "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (orjson.dumps(entry(startedDateTime="yesterday")).decode(), "startedDateTime"),
        (orjson.dumps(entry(request={"url": "/x"})).decode(), "method or url"),
        (orjson.dumps(entry(request={"method": "GET", "url": "/x", "headers": "oops"})).decode(), "unexpected field type"),
    ],
)
def test_bad_entries_are_set_aside_and_good_ones_kept(line, reason):
    good = orjson.dumps(entry()).decode()
    result = HarlReader().parse(lines_frame([good, line, good]))
    assert result.records["line_no"].to_list() == [1, 3]
    assert result.malformed["line_no"].to_list() == [2]
    assert reason in result.malformed["reason"][0]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=60), st.just(orjson.dumps(entry()).decode())), min_size=1, max_size=10))
def test_every_line_is_a_record_or_malformed(lines):
    lines = [ln.replace("\n", " ") for ln in lines]
    result = HarlReader().parse(lines_frame(lines))
    seen = sorted(result.records["line_no"].to_list() + result.malformed["line_no"].to_list())
    assert seen == list(range(1, len(lines) + 1))


def test_har_file_entries_are_numbered_by_position(tmp_path):
    bad = entry(startedDateTime="not a time")
    doc = {"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [entry(), bad, entry()]}}
    path = tmp_path / "capture.har"
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    results = list(HarReader().read(Source(str(path))))
    assert sum(r.records.height for r in results) == 2
    assert results[0].malformed["line_no"].to_list() == [2]


def test_a_file_that_is_not_har_is_one_clear_problem(tmp_path):
    path = tmp_path / "x.har"
    path.write_text('{"log": {"entries": 5}}')
    (result,) = HarReader().read(Source(str(path)))
    assert result.records.height == 0
    assert "not a HAR document" in result.malformed["reason"][0]


def test_a_har_file_that_breaks_off_keeps_the_entries_before_the_break(tmp_path):
    doc = {"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [entry()] * 3}}
    text = orjson.dumps(doc).decode()
    path = tmp_path / "cut.har"
    path.write_text(text[: len(text) - 200])  # inside the third entry
    results = list(HarReader().read(Source(str(path))))
    assert sum(r.records.height for r in results) == 2
    problems = [p for r in results for p in r.malformed.to_dicts()]
    assert len(problems) == 1 and problems[0]["line_no"] == 3 and "breaks off" in problems[0]["reason"]


def test_an_empty_har_file_is_empty_not_malformed(tmp_path):
    path = tmp_path / "empty.har"
    path.write_text('{"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": []}}')
    results = list(HarReader().read(Source(str(path))))
    assert sum(r.records.height + r.malformed.height for r in results) == 0

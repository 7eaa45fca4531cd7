from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apisight.errors import ConfigError
from apisight.readers.base import ReaderOptions
from apisight.readers.nginx import NginxReader, compile_log_format

from .helpers import lines_frame, one

COMBINED_CASES = [
    (
        (
            '93.180.71.3 - - [17/May/2015:08:05:32 +0000] "GET /downloads/product_1 HTTP/1.1" 304 0 "-" '
            '"Debian APT-HTTP/1.3 (0.8.16~exp12ubuntu10.21)"'
        ),
        {"peer_ip": "93.180.71.3", "method": "GET", "target": "/downloads/product_1", "status": "304",
         "response_bytes": "0", "referer": None, "user_agent": "Debian APT-HTTP/1.3 (0.8.16~exp12ubuntu10.21)",
         "ts": datetime(2015, 5, 17, 8, 5, 32, tzinfo=UTC)},
    ),
    (  # common format, a user, a non-UTC offset
        '10.1.2.3 - alice [28/Nov/2026:10:15:32 -0500] "POST /v1/auth/login?next=%2F HTTP/2.0" 401 53',
        {"peer_ip": "10.1.2.3", "remote_user": "alice", "method": "POST", "target": "/v1/auth/login?next=%2F",
         "status": "401", "ts": datetime(2026, 11, 28, 15, 15, 32, tzinfo=UTC)},
    ),
    (  # nginx's default "main" format: combined plus X-Forwarded-For
        (
            '172.17.0.1 - - [28/Nov/2026:10:15:32 +0000] "GET /health HTTP/1.1" 200 2 "https://x.example/" '
            '"curl/8.5.0" "203.0.113.7, 198.51.100.2"'
        ),
        {"forwarded_for": "203.0.113.7, 198.51.100.2", "referer": "https://x.example/", "user_agent": "curl/8.5.0"},
    ),
    (  # IPv6 client, HTTP/1.0 and a dash for the size
        '2001:db8::1 - - [01/Jan/2026:00:00:00 +0000] "DELETE /v2/payees/9f1c HTTP/1.0" 204 - "-" "okhttp/4.12.0"',
        {"peer_ip": "2001:db8::1", "method": "DELETE", "status": "204", "response_bytes": None},
    ),
]


@pytest.mark.parametrize(("line", "expected"), COMBINED_CASES)
def test_combined_and_common_lines(line, expected):
    result = NginxReader().parse(lines_frame([line]))
    assert result.malformed.height == 0
    record = one(result.records)
    for key, value in expected.items():
        assert record[key] == value, key


CUSTOM = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" '
    '"$http_user_agent" $request_time "$http_x_forwarded_for" "$http_x_api_key" $host "$http_x_request_id"'
)


def test_custom_log_format_maps_latency_headers_and_host():
    line = ('10.0.0.5 - - [28/Nov/2026:10:15:32 +0000] "GET /open-banking/v3.1/aisp/accounts HTTP/1.1" 200 812 "-" '
            '"partner-sdk/2.1" 0.250 "203.0.113.9" "pk_live_abc123" openbanking.demobank.example "f00d"')
    record = one(NginxReader(ReaderOptions(log_format=CUSTOM)).parse(lines_frame([line])).records)
    assert record["latency_ms"] == pytest.approx(250.0)
    # nginx logs the end of a request: the event time is its start
    assert record["ts"] == datetime(2026, 11, 28, 10, 15, 31, 750000, tzinfo=UTC)
    assert record["host"] == "openbanking.demobank.example"
    assert record["forwarded_for"] == "203.0.113.9"
    assert record["request_id"] == "f00d"
    assert '"x-api-key":"pk_live_abc123"' in record["request_headers"]


def test_variables_named_like_the_request_parts_do_not_clash_with_them():
    fmt = '$remote_addr [$time_local] "$request" $status $target $method'
    line = '10.0.0.5 [28/Nov/2026:10:15:32 +0000] "post /v1/payments?x=1 HTTP/1.1" 201 abc GET'
    record = one(NginxReader(ReaderOptions(log_format=fmt)).parse(lines_frame([line])).records)
    assert (record["method"], record["target"]) == ("POST", "/v1/payments?x=1")


def test_iso8601_time_method_and_uri_variables():
    fmt = '$time_iso8601 $remote_addr $request_method $scheme://$http_host$request_uri $status $upstream_response_time'
    line = "2026-11-28T10:15:32+01:00 198.51.100.4 PUT https://api.example.com:8443/v1/x?y=1 502 0.010, 0.300"
    record = one(NginxReader(ReaderOptions(log_format=fmt)).parse(lines_frame([line])).records)
    assert record["method"] == "PUT"
    assert record["target"] == "/v1/x?y=1"
    assert record["scheme"] == "https"
    assert record["host"] == "api.example.com"
    assert record["latency_ms"] == pytest.approx(10.0)
    assert record["ts"] == datetime(2026, 11, 28, 9, 15, 31, 990000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("binary \x00\x01\x02 garbage", "does not match"),
        ('1.2.3.4 - - [99/Foo/2026:10:15:32 +0000] "GET / HTTP/1.1" 200 1 "-" "x"', "bad timestamp"),
        ('1.2.3.4 - - [31/Feb/2026:10:15:32 +0000] "GET / HTTP/1.1" 200 1 "-" "x"', "bad timestamp"),
        ('1.2.3.4 - - [28/Nov/2026:10:15:32 +0000] "\\x16\\x03\\x01" 400 150 "-" "-"', "bad request line"),
        ('1.2.3.4 - - [28/Nov/2026:10:15:32 +0000] "GET / HTTP/1.1" 2000 1', "does not match"),
    ],
)
def test_malformed_lines_are_reported_with_their_line_and_good_ones_kept(line, reason):
    good = '1.2.3.4 - - [28/Nov/2026:10:15:32 +0000] "GET /ok HTTP/1.1" 200 1 "-" "x"'
    result = NginxReader().parse(lines_frame([good, line, good]))
    assert result.records["line_no"].to_list() == [1, 3]
    assert result.malformed["line_no"].to_list() == [2]
    assert reason in result.malformed["reason"][0]


@pytest.mark.parametrize(
    "fmt", ["no variables at all", "$remote_addr $status", '$remote_addr [$time_local] $status']
)
def test_unusable_log_formats_are_config_errors(fmt):
    with pytest.raises(ConfigError):
        compile_log_format(fmt)


def test_repeated_variable_in_a_format_compiles():
    compiled = compile_log_format('$remote_addr [$time_local] "$request" $status $remote_addr')
    assert compiled.variables.count("remote_addr") == 2


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=120), min_size=1, max_size=20))
def test_any_text_is_either_a_record_or_malformed_never_an_exception(lines):
    lines = [ln.replace("\n", " ") for ln in lines]
    result = NginxReader().parse(lines_frame(lines))
    seen = sorted(result.records["line_no"].to_list() + result.malformed["line_no"].to_list())
    assert seen == list(range(1, len(lines) + 1))

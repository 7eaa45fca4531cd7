"""AWS Application Load Balancer access logs: the documented examples and the ways lines go wrong."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apisight.readers.alb import AlbReader
from apisight.sources import Source

from .helpers import TEXT, lines_frame, mutated

SAMPLES = Path(__file__).parent / "samples" / "alb"
AWS_EXAMPLES = (SAMPLES / "aws-docs-examples.log").read_text().splitlines()

# The current layout of the AWS page: quoted target lists, classification fields,
# conn_trace_id and the transform fields appended.
NEWER = (
    "https 2024-03-05T10:11:12.500000Z app/my-loadbalancer/50dc6c495c0c9188 2001:db8:1234::7:52311 10.0.0.1:80 "
    '0.001 -1 -1 504 - 230 0 "POST https://api.example.com:443/v1/payments?dry_run=1 HTTP/1.1" '
    '"Mozilla/5.0 (X11; \\"quoted\\")" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 '
    "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "
    '"Root=1-65e6f0f0-0123456789abcdef01234567" "api.example.com" '
    '"arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 3 '
    '2024-03-05T10:11:02.250000Z "forward" "-" "TargetTimeout" "10.0.0.1:80" "-" "Acceptable" "-" '
    'TID_1234abcd5678ef90 "-" "-" "-"'
)
# 2016 layout (AWS blog and parsers of the time): no request_creation_time yet.
OLD = (
    "h2 2016-08-10T00:10:33.145057Z app/my-loadbalancer/50dc6c495c0c9188 10.0.1.252:48160 10.0.0.66:9000 "
    '0.000 0.002 0.000 200 200 5 257 "GET https://10.0.2.105:773/ HTTP/2.0" "curl/7.46.0" '
    "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 "
    "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "
    '"Root=1-58337327-72bd00b0343d75b906739c42"'
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def only_record(line: str) -> dict:
    result = AlbReader().parse(lines_frame([line]))
    assert result.malformed.height == 0, result.malformed.to_dicts()
    assert result.records.height == 1
    return result.records.row(0, named=True)


START = utc(2018, 7, 2, 22, 22, 48, 364000)  # request_creation_time of the examples
LAMBDA_START = utc(2018, 11, 30, 22, 22, 48, 364000)


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (
            0,
            {
                "ts": START,
                "method": "GET",
                "target": "http://www.example.com:80/",
                "status": 200,
                "latency_ms": 1.0,
                "peer_ip": "192.168.131.39",
                "request_bytes": 34,
                "response_bytes": 366,
                "user_agent": "curl/7.46.0",
                "request_id": "Root=1-58337262-36d228ad5d99923122bbe354",
            },
        ),
        (
            1,
            {
                "ts": START,
                "method": "GET",
                "target": "https://www.example.com:443/",
                "status": 200,
                "latency_ms": 171.0,
                "peer_ip": "192.168.131.39",
                "request_bytes": 0,
                "response_bytes": 57,
                "request_id": "Root=1-58337281-1d84f3d73c47ec4e58577259",
            },
        ),
        (
            2,
            {
                "ts": START,
                "target": "https://10.0.2.105:773/",
                "status": 200,
                "latency_ms": 2.0,
                "peer_ip": "10.0.1.252",
                "request_bytes": 5,
                "response_bytes": 257,
            },
        ),
        (
            3,
            {
                "target": "http://10.0.0.30:80/",
                "status": 101,
                "latency_ms": 4.0,
                "peer_ip": "10.0.0.140",
                "user_agent": None,
                "response_bytes": 587,
            },
        ),
        (4, {"target": "https://10.0.0.30:443/", "status": 101, "latency_ms": 1.0, "response_bytes": 786}),
        (5, {"ts": LAMBDA_START, "status": 200, "latency_ms": 1.0, "peer_ip": "192.168.131.39"}),
        (6, {"ts": LAMBDA_START, "status": 502, "method": "GET", "target": "http://www.example.com:80/"}),
    ],
    ids=["http", "https", "h2", "ws", "wss", "lambda-ok", "lambda-failed"],
)
def test_aws_documented_examples(index: int, expected: dict) -> None:
    record = only_record(AWS_EXAMPLES[index])
    assert {k: record[k] for k in expected} == expected


def test_current_layout_with_ipv6_client_and_no_target_response() -> None:
    record = only_record(NEWER)
    assert record["ts"] == utc(2024, 3, 5, 10, 11, 2, 250000)  # request_creation_time, not time
    assert record["method"] == "POST"
    assert record["target"] == "https://api.example.com:443/v1/payments?dry_run=1"
    assert record["status"] == 504  # elb_status_code; target_status_code is "-"
    assert record["latency_ms"] is None  # -1 processing times: not applicable
    assert record["peer_ip"] == "2001:db8:1234::7"
    assert record["user_agent"] == 'Mozilla/5.0 (X11; "quoted")'
    assert record["request_id"] == "Root=1-65e6f0f0-0123456789abcdef01234567"


def test_old_layout_without_request_creation_time_starts_at_time_minus_latency() -> None:
    record = only_record(OLD)
    assert record["ts"] == utc(2016, 8, 10, 0, 10, 33, 143057)
    assert record["latency_ms"] == 2.0


def test_unparseable_request_is_kept_without_method_or_target() -> None:
    line = (
        AWS_EXAMPLES[0]
        .replace('"GET http://www.example.com:80/ HTTP/1.1"', '"- - - "')
        .replace(" 200 200 ", " 400 - ")
    )
    record = only_record(line)
    assert (record["method"], record["target"], record["status"]) == (None, None, 400)


def test_bad_lines_are_reported_and_good_ones_kept() -> None:
    good = AWS_EXAMPLES[1]
    lines = [
        good,
        good.split(" arn:aws")[0],  # truncated: 16 fields
        good.replace("2018-07-02T22:22:48.364000Z", "yesterday").replace(
            "2018-07-02T22:23:00.186641Z", "today"
        ),
        good.replace(" 200 200 ", " OK 200 "),
        "\x00\x01\x02 \ufffd\ufffd binary \x7f",
        AWS_EXAMPLES[0],
    ]
    result = AlbReader().parse(lines_frame(lines))
    assert result.records["line_no"].to_list() == [1, 6]
    assert dict(result.malformed.select("line_no", "reason").iter_rows()) == {
        2: "expected at least 17 fields",
        3: "bad timestamp",
        4: "bad status",
        5: "expected at least 17 fields",
    }
    assert result.malformed.filter(pl.col("line_no") == 4)["excerpt"][0].startswith("https 2018-07-02")


def test_gzip_file_is_read_through_the_source(tmp_path: Path) -> None:
    path = tmp_path / "123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.log.gz"
    path.write_bytes(gzip.compress(("\n".join(AWS_EXAMPLES) + "\n").encode()))
    results = list(AlbReader().read(Source(str(path))))
    assert sum(r.records.height for r in results) == len(AWS_EXAMPLES)
    assert sum(r.malformed.height for r in results) == 0


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (AWS_EXAMPLES, True),
        ([NEWER, OLD], True),
        (
            [
                '[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "-" "-" "-" "-" "-"'
            ],
            False,
        ),
        (['127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "-" "curl"'], False),
        (['{"time": "2018-07-02T22:23:00Z", "method": "GET"}'], False),
    ],
    ids=["aws-examples", "newer-and-older", "envoy", "nginx", "json"],
)
def test_sniff(head: list[str], expected: bool) -> None:
    assert AlbReader().sniff(head) is expected




SAMPLE_LINES = [*AWS_EXAMPLES, NEWER, OLD]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(TEXT, st.sampled_from(SAMPLE_LINES), mutated(SAMPLE_LINES)), min_size=1, max_size=12)
)
def test_every_line_lands_in_exactly_one_place(lines: list[str]) -> None:
    result = AlbReader().parse(lines_frame(lines))
    seen = result.records["line_no"].to_list() + result.malformed["line_no"].to_list()
    assert sorted(seen) == list(range(1, len(lines) + 1))
    assert result.records["ts"].null_count() == 0

"""The log-quality report over data stored by the real pipeline."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from apisight.config import Settings
from apisight.pipeline import RunRequest, analyze
from apisight.posture import LogQualityReport, assess_logs
from apisight.readers.base import ReaderOptions
from apisight.store import Catalog

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HOST = "api.bank.example"
BEHIND_LB = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" '
    '"$http_user_agent" "$http_x_forwarded_for" $host'
)


def nginx_lines(n: int = 40, day: str = "28/Nov/2026", hour: int = 10) -> list[str]:
    """Combined-style lines from three LB addresses, each request forwarded for a different client."""
    return [
        f"10.0.0.{i % 3 + 1} - - [{day}:{hour:02d}:{i % 60:02d}:{i % 7:02d} +0000] "
        f'"GET /v1/accounts/{i}?expand=owner HTTP/1.1" 200 512 "-" "curl/8" "198.51.100.{i}" {HOST}\n'
        for i in range(n)
    ]


def jwt(sub: str) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(obj)).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part({'sub': sub, 'exp': 1900000000})}.c2ln"


def har_lines(
    n: int = 30,
    start: datetime = datetime(2026, 11, 28, 10, 0, tzinfo=UTC),
    step: timedelta = timedelta(seconds=1, milliseconds=37),
) -> list[str]:
    """HAR lines from many public clients with JWTs, JSON bodies and millisecond times."""
    lines = []
    for i in range(n):
        ts = start + i * step
        lines.append(
            orjson.dumps(
                {
                    "startedDateTime": ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z",
                    "time": 12.5,
                    "_clientIP": f"203.0.113.{i % 200 + 1}",
                    "request": {
                        "method": "POST",
                        "url": f"https://{HOST}/v1/payments?ref={i}",
                        "headers": [
                            {"name": "Authorization", "value": f"Bearer {jwt(f'user-{i % 5}')}"},
                            {"name": "Content-Type", "value": "application/json"},
                        ],
                        "postData": {"mimeType": "application/json", "text": '{"amount": 5}'},
                        "bodySize": 13,
                    },
                    "response": {
                        "status": 201,
                        "headers": [{"name": "Content-Type", "value": "application/json"}],
                        "content": {"size": 11, "mimeType": "application/json", "text": '{"ok": true}'},
                        "bodySize": 11,
                    },
                }
            ).decode()
            + "\n"
        )
    return lines


def assess(tmp_path: Path, files: dict[str, list[str]], settings: Settings | None = None) -> LogQualityReport:
    data = tmp_path / "data"
    for name, lines in files.items():
        path = tmp_path / name
        path.write_text("".join(lines))
        options = ReaderOptions(log_format=BEHIND_LB) if name.endswith(".log") else ReaderOptions()
        analyze(RunRequest([str(path)], data, settings or Settings(), options=options))
    with Catalog(data, read_only=True) as catalog:
        return assess_logs(catalog, now=NOW)


def gap_ids(report: LogQualityReport) -> set[str]:
    return {g.id for g in report.gaps}


def test_nginx_behind_a_load_balancer(tmp_path):
    report = assess(tmp_path, {"access.log": nginx_lines()})
    [stream] = report.streams
    assert (stream.source, stream.host, stream.events) == ("nginx", HOST, 40)
    assert stream.timestamp_precision == "seconds"
    assert stream.field("client_ip").rate == 1.0 and stream.field("principal").rate == 0.0
    assert stream.field("response_bytes").rate == 1.0 and stream.field("latency").rate == 0.0
    assert stream.client_addresses.verdict == "proxy"
    assert stream.client_addresses.distinct_clients == 3
    assert set(stream.client_addresses.top_addresses) == {"10.0.0.1", "10.0.0.2", "10.0.0.3"}
    gaps = {g.id: g for g in stream.gaps}
    assert {"client_ip_is_proxy", "no_principal", "coarse_timestamps", "no_latency", "no_bodies"} <= set(gaps)
    assert "no_client_ip" not in gaps and "no_query" not in gaps and "future_timestamps" not in gaps
    proxy = gaps["client_ip_is_proxy"]
    assert "network.trusted_proxies" in proxy.evidence
    assert any(f.where == "apisight" and "network.trusted_proxies" in f.setting for f in proxy.fixes)
    # the stream's own gateway comes first
    assert proxy.fixes[0].where == "nginx" and "set_real_ip_from" in proxy.fixes[0].setting
    assert "BOLA" in gaps["no_principal"].prevents and "IP level" in gaps["no_principal"].prevents
    assert "$msec" in gaps["coarse_timestamps"].fixes[0].setting
    assert "$request_time" in gaps["no_latency"].fixes[0].setting
    assert report.maturity.level <= 2 and stream.maturity.level == 2
    assert stream.maturity.stage == "inventory"


def test_trusted_proxies_resolve_the_clients(tmp_path):
    settings = Settings.model_validate({"network": {"trusted_proxies": ["10.0.0.0/24"]}})
    report = assess(tmp_path, {"access.log": nginx_lines()}, settings)
    [stream] = report.streams
    assert stream.client_addresses.verdict == "real"
    assert stream.client_addresses.distinct_clients == 40
    assert "client_ip_is_proxy" not in gap_ids(report)
    assert "no_principal" in gap_ids(report)  # the other gaps stay


def test_few_private_clients_without_forwarded_for_are_suspected(tmp_path):
    lines = [line.rsplit('"', 2)[0] + '"-" ' + HOST + "\n" for line in nginx_lines()]
    report = assess(tmp_path, {"access.log": lines})
    assert report.streams[0].client_addresses.verdict == "suspected_proxy"
    assert "client_ip_maybe_proxy" in gap_ids(report) and "client_ip_is_proxy" not in gap_ids(report)


def test_har_with_bodies_identity_and_milliseconds(tmp_path):
    report = assess(tmp_path, {"capture.harl": har_lines()})
    [stream] = report.streams
    assert stream.source == "harl" and stream.events == 30
    assert stream.timestamp_precision == "milliseconds"
    assert stream.field("principal").rate == 1.0 and stream.field("bodies").rate == 1.0
    assert stream.field("latency").rate == 1.0 and stream.field("request_headers").rate == 1.0
    assert stream.client_addresses.verdict == "real"
    absent = {
        "client_ip_is_proxy",
        "client_ip_maybe_proxy",
        "no_client_ip",
        "no_principal",
        "coarse_timestamps",
        "no_bodies",
        "no_latency",
        "no_headers",
        "no_query",
        "future_timestamps",
    }
    assert not absent & gap_ids(report)
    assert report.maturity.level == 4 and report.maturity.stage == "detection & response"
    assert any("30 days" in r for r in stream.maturity.reasons)  # why it is not investigation
    json.dumps(report.as_dict())  # JSON-ready


def test_thirty_days_of_full_logs_reach_investigation(tmp_path):
    # 30 calendar days: what the default retention (30 days) keeps
    lines = har_lines(
        30, start=datetime(2026, 10, 30, 9, tzinfo=UTC), step=timedelta(days=1, milliseconds=11)
    )
    report = assess(tmp_path, {"capture.harl": lines})
    assert report.streams[0].events == 30 and report.streams[0].history_days >= 29
    assert report.maturity.level == 5 and report.maturity.stage == "investigation"


def test_twenty_nine_days_are_not_enough(tmp_path):
    lines = har_lines(
        29, start=datetime(2026, 10, 31, 9, tzinfo=UTC), step=timedelta(days=1, milliseconds=11)
    )
    report = assess(tmp_path, {"capture.harl": lines})
    assert report.maturity.level == 4
    assert any("have 29" in r for r in report.streams[0].maturity.reasons)


def test_bodies_without_identity_is_risk_audit(tmp_path):
    lines = [line.replace("Authorization", "X-Trace") for line in har_lines()]
    report = assess(tmp_path, {"capture.harl": lines})
    assert report.streams[0].field("principal").present == 0
    assert "no_principal" in gap_ids(report)
    assert report.maturity.level == 3 and report.maturity.stage == "risk audit"


def test_future_timestamps_are_a_clock_finding(tmp_path):
    future = nginx_lines(20, day="28/Nov/2031")
    report = assess(tmp_path, {"future.log": future, "capture.harl": har_lines()})
    by_source = {s.source: s for s in report.streams}
    assert by_source["nginx"].future_events == 20 and by_source["harl"].future_events == 0
    [gap] = [g for g in report.gaps if g.id == "future_timestamps"]
    assert (gap.source, gap.host, gap.severity) == ("nginx", HOST, "high")
    assert "20 of 20" in gap.evidence
    # five years between the two sources of one host
    assert any(g.id == "clock_skew" and g.host == HOST for g in report.clock)


def test_whole_hour_offset_between_sources_suggests_time_zone(tmp_path):
    # the same hour of traffic: nginx logged 10:00-10:39 UTC, the capture says 12:00-12:39
    nginx = nginx_lines(40)
    har = har_lines(
        40, start=datetime(2026, 11, 28, 12, 0, tzinfo=UTC), step=timedelta(seconds=60, milliseconds=1)
    )
    report = assess(tmp_path, {"access.log": nginx, "capture.harl": har})
    [tz] = [g for g in report.clock if g.id == "timezone_offset"]
    assert tz.host == HOST and set(tz.source.split(", ")) == {"nginx", "harl"}
    assert "-2 h from harl" in tz.evidence  # nginx is two hours behind the capture
    assert "clock_skew" not in gap_ids(report) and "future_timestamps" not in gap_ids(report)


def test_sources_in_the_same_period_raise_no_clock_finding(tmp_path):
    har = har_lines(40, start=datetime(2026, 11, 28, 10, 0, 3, tzinfo=UTC), step=timedelta(seconds=60))
    report = assess(tmp_path, {"access.log": nginx_lines(40), "capture.harl": har})
    assert report.clock == ()


def test_empty_catalog(tmp_path):
    with Catalog(tmp_path / "data") as catalog:
        report = assess_logs(catalog, now=NOW)
    assert report.streams == () and report.maturity.level == 0
    assert report.as_dict()["maturity"]["stage"] == "no logs"

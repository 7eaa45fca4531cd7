"""Every writer's output parses back with the fields readers rely on."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import polars as pl
import pytest

from apisight.demo import DemoManifest, demo_frames, generate_bench, writers
from apisight.errors import ConfigError

COMBINED_RE = re.compile(
    r'^(?P<addr>\S+) - (?P<user>\S+) \[(?P<time>\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000)\] '
    r'"(?P<method>[A-Z]+) (?P<target>\S+) HTTP/1\.1" (?P<status>\d{3}) (?P<bytes>\d+) "(?P<referer>[^"]*)" '
    r'"(?P<ua>[^"]*)"'
)
PARTNER_RE = re.compile(
    COMBINED_RE.pattern + r' (?P<rt>\d+\.\d{3}) "(?P<xff>[^"]*)" "(?P<key>[^"]*)" (?P<host>\S+) "(?P<rid>[^"]*)"$'
)
ALB_TOKEN = re.compile(r'"[^"]*"|\S+')


@pytest.fixture(scope="module")
def mixed() -> pl.DataFrame:
    frames = demo_frames(seed=11, scale=0.02)
    return pl.concat(list(frames.values())).sort("ts")


def test_nginx_combined(mixed: pl.DataFrame, tmp_path: Path) -> None:
    writers.write_nginx(mixed, tmp_path / "a.log")
    lines = (tmp_path / "a.log").read_text().splitlines()
    assert len(lines) == mixed.height
    for line, row in zip(lines, mixed.iter_rows(named=True), strict=True):
        m = COMBINED_RE.match(line)
        assert m, line
        assert int(m["status"]) == row["status"] and m["method"] == row["method"]
        assert m["target"].split("?")[0] == row["path"]
        assert m["referer"] == (row["referer"] or "-")


def test_nginx_partner_format(demo: DemoManifest) -> None:
    path = demo.out_dir / "traffic/partner-gateway.log"
    lines = path.read_text().splitlines()
    assert lines
    for line in lines:
        m = PARTNER_RE.match(line)
        assert m, line
        assert m["host"] == "openbanking.demobank.example"
        # keyless: the planted key in the query string and the scanners of the exposed actuator
        keyless = "api_key=pk_live_" in m["target"] or m["target"] == "/actuator/env"
        assert (m["key"].startswith("pk_live_") or keyless) and m["addr"].startswith("10.20.0.")
        assert m["xff"] != "-"


def test_unknown_nginx_variable_is_a_config_error(mixed: pl.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\$no_such_var"):
        writers.write_nginx_custom(mixed, tmp_path / "x", "$remote_addr $no_such_var")


def _check_entry(e: dict) -> None:
    req, resp = e["request"], e["response"]
    assert e["startedDateTime"].endswith("Z") and isinstance(e["time"], float | int)
    assert req["url"].startswith(("https://", "http://")) and req["httpVersion"] == "HTTP/1.1"
    names = {h["name"] for h in req["headers"]}
    assert {"Host", "User-Agent", "X-Request-Id"} <= names
    assert req["headersSize"] == -1 and isinstance(req["bodySize"], int)
    assert isinstance(req["queryString"], list)
    if "postData" in req:
        assert req["postData"]["mimeType"] and req["postData"]["text"]
    assert isinstance(resp["status"], int) and resp["statusText"]
    assert {"size", "mimeType"} <= set(resp["content"]) and resp["redirectURL"] == ""
    assert e["cache"] == {} and {"send", "wait", "receive"} <= set(e["timings"])
    assert e["_clientIP"]


def test_harl_entries(harl_entries: list[dict]) -> None:
    for e in harl_entries:
        _check_entry(e)
    with_query = next(e for e in harl_entries if "?" in e["request"]["url"])
    qs = {q["name"]: q["value"] for q in with_query["request"]["queryString"]}
    assert with_query["request"]["url"].endswith("?" + "&".join(f"{k}={v}" for k, v in qs.items()))
    bodies = [e for e in harl_entries if "text" in e["response"]["content"]]
    assert all(len(e["response"]["content"]["text"].encode()) == e["response"]["content"]["size"] for e in bodies)


def test_har_file(demo: DemoManifest) -> None:
    log = orjson.loads((demo.out_dir / "traffic/web-session.har").read_bytes())["log"]
    assert log["version"] == "1.2" and log["creator"]["name"]
    assert 0 < len(log["entries"]) <= 200
    for e in log["entries"]:
        _check_entry(e)


def test_envoy(demo: DemoManifest) -> None:
    keys = {"start_time", "method", "path", "protocol", "response_code", "response_flags", "bytes_received",
            "bytes_sent", "duration", "upstream_service_time", "x_forwarded_for", "user_agent", "request_id",
            "authority", "upstream_host", "downstream_remote_address"}
    for line in (demo.out_dir / "traffic/internal-mesh.log").read_bytes().splitlines():
        obj = orjson.loads(line)
        assert keys <= set(obj)
        assert obj["downstream_remote_address"].startswith("10.") and ":" in obj["downstream_remote_address"]
        assert isinstance(obj["response_code"], int) and isinstance(obj["duration"], int)


def test_kong(mixed: pl.DataFrame, tmp_path: Path) -> None:
    writers.write_kong(mixed, tmp_path / "k.log")
    objs = [orjson.loads(x) for x in (tmp_path / "k.log").read_bytes().splitlines()]
    assert len(objs) == mixed.height
    for obj, row in zip(objs, mixed.iter_rows(named=True), strict=True):
        assert obj["request"]["method"] == row["method"]
        assert obj["request"]["uri"].split("?")[0] == row["path"]
        assert all(k == k.lower() for k in obj["request"]["headers"])
        assert obj["response"]["status"] == row["status"]
        assert {"request", "kong", "proxy"} <= set(obj["latencies"])
        assert obj["client_ip"] == row["client_ip"] and isinstance(obj["started_at"], int)
        if row["query"]:
            assert obj["request"]["querystring"] == dict(p.split("=", 1) for p in row["query"].split("&"))
        assert ("consumer" in obj) == (row["consumer"] is not None)


def test_alb(mixed: pl.DataFrame, tmp_path: Path) -> None:
    writers.write_alb(mixed, tmp_path / "alb.log")
    for line in (tmp_path / "alb.log").read_text().splitlines():
        fields = ALB_TOKEN.findall(line)
        assert len(fields) == 29, line
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", fields[1])
        assert re.fullmatch(r'"[A-Z]+ https://[^ ]+:443/\S* HTTP/1\.1"', fields[12])
        assert re.fullmatch(r'"Root=1-[0-9a-f]{8}-[0-9a-f]{24}"', fields[17])


@pytest.mark.parametrize("fmt", ["nginx", "harl", "envoy", "kong", "alb", "nginx-partner"])
def test_bench_writes_exactly_n_records_in_chunks(tmp_path: Path, fmt: str) -> None:
    out = generate_bench(tmp_path / f"b.{fmt}", records=2_345, format=fmt, seed=5, chunk=1_000)
    lines = out.read_text().splitlines()
    assert len(lines) == 2_345
    if fmt in {"harl", "envoy", "kong"}:
        orjson.loads(lines[-1])


def test_bench_rejects_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown bench format"):
        generate_bench(tmp_path / "x", records=10, format="csv")

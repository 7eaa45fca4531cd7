"""The command line as a user runs it: a real process, real files, real exit codes."""

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

COMBINED = '203.0.113.{n} - - [28/Nov/2026:10:{m:02d}:00 +0000] "GET /v1/accounts/{n}?page=1 HTTP/1.1" 200 {n} "-" "okhttp/4.12"\n'


def apisight(*args: str, stdin: bytes | None = None, cwd: Path | None = None, env: dict | None = None):
    return subprocess.run(  # noqa: PLW1510 - callers assert on the exit status
        [sys.executable, "-m", "apisight.cli", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def nginx_lines(count: int, start: int = 0) -> str:
    return "".join(COMBINED.format(n=i % 250 + 1, m=i % 60) for i in range(start, start + count))


@pytest.fixture
def logs(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "access.log").write_text(nginx_lines(40) + "this line is garbage\n" + nginx_lines(9, 40))
    (folder / "access.log.1.gz").write_bytes(gzip.compress(nginx_lines(25, 100).encode()))
    return folder


def summary(result) -> dict:
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_analyze_a_directory_with_gzip_and_a_malformed_line(tmp_path, logs):
    s = summary(apisight("analyze", str(logs), "--data", str(tmp_path / "d"), "--json"))
    assert s["records"] == 74
    assert s["malformed"]["total"] == 1
    assert s["malformed"]["by_file"] == {str(logs / "access.log"): 1, str(logs / "access.log.1.gz"): 0}
    assert s["malformed"]["examples"][0]["line_no"] == 41
    assert s["sources"] == {"nginx": 74}
    quarantined = Path(s["malformed"]["quarantine_file"]).read_text()
    assert "this line is garbage" in quarantined


def test_a_second_run_adds_only_what_is_new_and_says_what_it_skipped(tmp_path, logs):
    data = str(tmp_path / "d")
    summary(apisight("analyze", str(logs / "access.log"), "--data", data, "--json"))
    again = apisight("analyze", str(logs), "--data", data)  # the same file again, beside a new one
    assert again.returncode == 0, again.stderr.decode()
    said = " ".join(again.stdout.decode().split())
    assert f"Already read: {logs / 'access.log'}" in said and "skipped" in said
    out = apisight("query", "SELECT count(*) AS n, count(DISTINCT client_ip) AS c FROM events", "--format", "json",
                   "--data", data)
    assert json.loads(out.stdout) == [{"n": 74, "c": 74}]
    runs = apisight("query", "SELECT count(*) AS runs FROM runs", "--format", "csv", "--data", data)
    assert runs.stdout.decode().splitlines() == ["runs", "2"]


def test_a_writer_already_running_is_named_and_the_exit_is_an_error(tmp_path, logs):
    from apisight.store.writer import Writer

    data = tmp_path / "d"
    with Writer(data, "analyze"):
        refused = apisight("analyze", str(logs), "--data", str(data))
    message = refused.stderr.decode()
    assert refused.returncode == 1 and "being written by `apisight analyze`" in " ".join(message.split())
    assert "Traceback" not in message


def test_stdin_and_data_from_the_environment(tmp_path):
    data = tmp_path / "env-data"
    s = summary(apisight("analyze", "-", "--json", stdin=nginx_lines(10).encode(), env={"APISIGHT_DATA": str(data)}))
    assert s["records"] == 10
    assert (data / "catalog.duckdb").exists()


def test_missing_file_fails_clearly_and_writes_nothing(tmp_path, logs):
    data = tmp_path / "d"
    result = apisight("analyze", str(logs / "access.log"), str(tmp_path / "nope.log"), "--data", str(data))
    assert result.returncode != 0
    assert "nope.log" in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()
    assert not data.exists()


def test_empty_input_is_a_clear_message_and_success(tmp_path):
    empty = tmp_path / "empty.log"
    empty.write_text("")
    result = apisight("analyze", str(empty), "--data", str(tmp_path / "d"))
    assert result.returncode == 0
    assert "empty" in result.stdout.decode()


def test_unknown_format_lists_the_supported_ones(tmp_path):
    odd = tmp_path / "odd.txt"
    odd.write_text("hello world\nthis is not a log\n")
    result = apisight("analyze", str(odd), "--data", str(tmp_path / "d"))
    err = result.stderr.decode()
    assert result.returncode == 1
    assert "--format" in err and "nginx" in err and "harl" in err
    forced = apisight("analyze", str(odd), "--format", "bogus", "--data", str(tmp_path / "d"))
    assert forced.returncode == 1 and "installed formats" in forced.stderr.decode()


def test_bad_sql_is_one_clear_line(tmp_path, logs):
    data = str(tmp_path / "d")
    summary(apisight("analyze", str(logs / "access.log"), "--data", data, "--json"))
    result = apisight("query", "SELECT nope FROM events", "--data", data)
    assert result.returncode == 1
    assert "nope" in result.stderr.decode() and "Traceback" not in result.stderr.decode()


def test_custom_log_format_from_the_command_line(tmp_path):
    log = tmp_path / "edge.log"
    log.write_text('198.51.100.1 [28/Nov/2026:10:00:00 +0000] "GET /v2/x HTTP/1.1" 404 0.120 api.example.com\n')
    fmt = '$remote_addr [$time_local] "$request" $status $request_time $host'
    s = summary(apisight("analyze", str(log), "--log-format", fmt, "--data", str(tmp_path / "d"), "--json"))
    assert s["records"] == 1 and s["hosts"] == 1


def test_init_writes_a_config_that_analyze_then_validates(tmp_path, logs):
    data = tmp_path / "d"
    assert apisight("init", "--data", str(data)).returncode == 0
    assert apisight("init", "--data", str(data)).returncode == 1  # no silent overwrite
    (data / "apisight.yaml").write_text("capture: {body_policy: shred}\n")
    result = apisight("analyze", str(logs), "--data", str(data))
    assert result.returncode == 1
    assert "capture.body_policy" in result.stderr.decode()


@pytest.mark.parametrize("command", ["analyze", "query", "demo", "init", "formats"])
def test_every_command_has_help_with_examples_or_purpose(command):
    result = apisight(command, "--help")
    assert result.returncode == 0
    assert len(result.stdout.decode().splitlines()) > 5


def test_truncated_gzip_keeps_what_was_readable_and_reports_it(tmp_path, logs):
    whole = gzip.compress(nginx_lines(3000).encode())
    (logs / "broken.log.gz").write_bytes(whole[: len(whole) // 2])
    s = summary(apisight("analyze", str(logs), "--data", str(tmp_path / "d"), "--json"))
    broken = str(logs / "broken.log.gz")
    assert s["malformed"]["by_file"][broken] == 1
    assert any("unreadable" in e["reason"] for e in s["malformed"]["examples"])
    per_file = {f["file"]: f["records"] for f in s["files"]}
    assert per_file[str(logs / "access.log")] == 49  # the other files are untouched
    assert 0 < per_file[broken] < 3000


def test_a_stray_file_in_a_directory_is_skipped_not_fatal(tmp_path, logs):
    (logs / "nginx-error.log").write_text(
        "2026/11/28 10:00:00 [error] 7#7: *1 open() \"/usr/share/nginx/html/x\" failed (2: No such file)\n"
    )
    (logs / "core.bin").write_bytes(bytes(range(256)) * 10)
    s = summary(apisight("analyze", str(logs), "--data", str(tmp_path / "d"), "--json"))
    assert s["records"] == 74
    assert sorted(Path(x["file"]).name for x in s["skipped"]) == ["core.bin", "nginx-error.log"]


def test_a_pipe_is_read_whole(tmp_path):
    log = tmp_path / "in.log"
    log.write_text(nginx_lines(5000))
    command = f'{sys.executable} -m apisight.cli analyze <(cat "$0") --data "$1" --json'
    result = subprocess.run(
        ["bash", "-c", command, str(log), str(tmp_path / "d")], capture_output=True, timeout=120, check=True
    )
    assert summary(result)["records"] == 5000


def test_quarantine_never_holds_the_secrets_of_malformed_lines(tmp_path):
    key = "pk_live_7d9f8a6b5c4e3d2f1a0b9c8d"
    cookie = "sid=Zx81Kd92Lm3Qp7Rt5Vw1Yb6"
    fmt = '$remote_addr [$time_local] "$request" $status "$http_x_api_key" "$http_cookie"'
    good = f'198.51.100.1 [28/Nov/2026:10:00:00 +0000] "GET /v1/x HTTP/1.1" 200 "{key}" "{cookie}"\n'
    bad = f'198.51.100.1 [28/Nov/2026:10:00:00 +0000] "GET /v1/x HTTP/1.1" 2x0 "{key}" "{cookie}"\n'
    log = tmp_path / "edge.log"
    log.write_text(good + bad * 3)
    result = apisight("analyze", str(log), "--log-format", fmt, "--data", str(tmp_path / "d"), "--json")
    s = summary(result)
    assert s["records"] == 1 and s["malformed"]["total"] == 3
    stored = Path(s["malformed"]["quarantine_file"]).read_text() + result.stdout.decode()
    assert "GET /v1/x" in stored  # the shape of the bad line is kept ...
    assert key not in stored and "Zx81Kd92Lm3Qp7Rt5Vw1Yb6" not in stored  # ... its secrets are not


def test_inventory_openapi_and_drift_commands(tmp_path, logs):
    data = str(tmp_path / "d")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /v1/accounts/{id}:\n"
        "    get: {responses: {'200': {description: ok}}}\n  /v1/cards:\n    get: {responses: {'200': {description: ok}}}\n"
    )
    summary(apisight("analyze", str(logs / "access.log"), "--spec", str(spec), "--data", data, "--json"))
    inventory = json.loads(apisight("inventory", "--json", "--data", data).stdout)
    by_path = {e["path"]: e for e in inventory}
    assert by_path["/v1/accounts/{id}"]["spec_status"] == "documented"
    assert by_path["/v1/accounts/{id}"]["count"] == 49
    assert by_path["/v1/cards"]["spec_status"] == "unused"
    assert {"host", "method", "path", "spec_status", "count", "first_seen", "last_seen", "params", "auth"} <= set(
        by_path["/v1/accounts/{id}"]
    )
    assert by_path["/v1/accounts/{id}"]["params"][0]["name"] == "page"
    out = tmp_path / "observed.json"
    assert apisight("openapi", "-o", str(out), "--data", data).returncode == 0
    document = json.loads(out.read_text())
    assert list(document["paths"]) == ["/v1/accounts/{id}"] and document["openapi"].startswith("3.1")
    drift = json.loads(apisight("drift", "--spec", str(spec), "--json", "--data", data).stdout)
    assert {d["path"]: d["spec_status"] for d in drift} == {"/v1/accounts/{id}": "documented", "/v1/cards": "unused"}
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: 3.0.3\npaths:\n  /x: [unclosed\n")
    result = apisight("drift", "--spec", str(broken), "--data", data)
    message = result.stderr.decode()
    assert result.returncode == 1 and "broken.yaml:" in message and "Traceback" not in message


def test_version_needs_no_command():
    result = apisight("--version")
    assert result.returncode == 0 and result.stdout.decode().startswith("apisight ")


def test_run_summary_time_span_reads_as_dates_and_a_length():
    from apisight.cli.run import _span

    assert _span("2026-11-24 23:59:59.954000+00:00", "2026-11-27 23:59:56.167000+00:00") == (
        "2026-11-24 23:59:59 → 2026-11-27 23:59:56 (3.0 days)"
    )
    assert _span("2026-11-24T10:00:00+00:00", "2026-11-24T12:30:00+00:00").endswith("(2.5 h)")
    assert _span(None, None) == "—"
    assert _span("yesterday", "today") == "yesterday → today"

"""The detection stage through the real pipeline: stored events in, alerts out, state kept.

Records are HAR lines written to files and analysed by ``apisight.pipeline.analyze``;
the alerts are read back from the catalog, and the command line is run as a process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import orjson
import polars as pl

from apisight import pipeline
from apisight.config import Settings
from apisight.detect import engine
from apisight.detect.engine import run_detection
from apisight.detect.slices import plan, read
from apisight.executor import run_isolated
from apisight.pipeline import RunRequest, analyze
from apisight.store import Catalog
from apisight.store.alerts import load_alerts

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ATTACKER = "198.51.100.9"


def login(at: datetime, ip: str, user: str, status: int) -> str:
    body = orjson.dumps({"username": user, "password": "Winter2026!"}).decode()
    return orjson.dumps({
        "startedDateTime": at.isoformat().replace("+00:00", "Z"), "time": 80, "_clientIP": ip,
        "request": {"method": "POST", "url": "https://api.bank.example/v1/auth/login",
                    "headers": [{"name": "User-Agent", "value": "python-requests/2.31"}],
                    "postData": {"mimeType": "application/json", "text": body}, "bodySize": len(body)},
        "response": {"status": status, "headers": [],
                     "content": {"size": 20, "mimeType": "application/json", "text": '{"error":"denied"}'}},
    }).decode()


def stuffing(start: datetime, n: int, first: int = 0) -> list[str]:
    """``n`` attempts on distinct leaked accounts from one address, one every 10 s."""
    return [login(start + timedelta(seconds=10 * i), ATTACKER, f"leaked{first + i}@mail.example", 401)
            for i in range(n)]


def benign(start: datetime, n: int) -> list[str]:
    return [login(start + timedelta(minutes=i), f"203.0.113.{i % 200 + 1}", f"customer{i}@example.com", 200)
            for i in range(n)]


def run(tmp_path, name: str, lines: list[str], settings: Settings | None = None) -> dict:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return analyze(RunRequest([str(path)], tmp_path / "data", settings or Settings()))


def alerts(tmp_path, detector: str | None = None) -> list[dict]:
    with Catalog(tmp_path / "data", read_only=True) as catalog:
        return load_alerts(catalog.db, detector=detector).to_dicts()


def test_an_attack_is_one_alert_with_evidence_and_no_clear_account_names(tmp_path):
    summary = run(tmp_path, "a.harl", benign(T0, 30) + stuffing(T0 + timedelta(minutes=5), 60))
    assert summary["alerts"]["credential_stuffing"] == 1
    (alert,) = alerts(tmp_path, "credential_stuffing")
    evidence = orjson.loads(alert["evidence"])
    assert (alert["entity_kind"], alert["entity"]) == ("ip", ATTACKER)
    assert evidence["accounts"] >= 30 and evidence["failures"] == evidence["events"] and evidence["successes"] == 0
    assert orjson.loads(alert["owasp"]) == ["API2:2023"] and "T1110.004" in orjson.loads(alert["mitre"])
    # raised when the thresholds were crossed (30th attempt), not at the end of the attack
    crossed = T0 + timedelta(minutes=5, seconds=10 * 29)
    assert alert["detected_at"] == crossed
    assert alert["first_seen"] == T0 + timedelta(minutes=5)
    dump = json.dumps(alerts(tmp_path), default=str)
    assert "leaked" not in dump and "customer1@" not in dump
    assert not [a for a in alerts(tmp_path) if a["entity"] != ATTACKER]  # the real customers raised nothing


WORLD = ["8.8.8.8", "14.160.0.1", "200.147.67.142", "41.58.0.1", "81.2.69.142", "5.45.192.1", "85.214.132.117",
         "92.40.116.53", "177.71.128.1", "23.227.38.1"]  # US VN BR NG GB RU DE GB BR CA (offline GeoIP)


def with_cookie(at: datetime, ip: str, cookie: str) -> str:
    return orjson.dumps({
        "startedDateTime": at.isoformat().replace("+00:00", "Z"), "time": 30, "_clientIP": ip,
        "request": {"method": "GET", "url": "https://web.bank.example/account/overview",
                    "headers": [{"name": "Cookie", "value": cookie}, {"name": "User-Agent", "value": "Mozilla/5.0"}]},
        "response": {"status": 200, "headers": [], "content": {"size": 2, "mimeType": "application/json", "text": "{}"}},
    }).decode()


def test_a_session_cookie_replayed_around_the_world_is_a_takeover_and_stays_secret(tmp_path):
    stolen = "theme=dark; JSESSIONID=8f14e45fceea167a5a36dedd4bea2543; lang=en"
    replay = [with_cookie(T0 + timedelta(minutes=2 * i), ip, stolen) for i, ip in enumerate(WORLD)]
    own = [with_cookie(T0 + timedelta(minutes=i), "92.40.116.53", f"JSESSIONID=own{i:04d}aaaaaaaaaaaaaaaa")
           for i in range(20)]
    summary = run(tmp_path, "a.harl", replay + own)
    assert summary["alerts"]["account_takeover"] == 1
    (alert,) = alerts(tmp_path, "account_takeover")
    assert alert["entity_kind"] == "session" and len(alert["entity"]) == 16  # a fingerprint, not the cookie
    assert orjson.loads(alert["evidence"])["countries"] >= 6
    assert "8f14e45fceea167a5a36dedd4bea2543" not in json.dumps(alerts(tmp_path), default=str)
    with Catalog(tmp_path / "data", read_only=True) as catalog:
        stored = catalog.db.sql("SELECT count(DISTINCT session_fp) AS n, bool_or(request_headers LIKE '%8f14e45f%') "
                                "AS leaked FROM events").pl().row(0)
    assert stored == (21, False)


def test_the_same_records_read_again_raise_nothing_new(tmp_path):
    lines = benign(T0, 30) + stuffing(T0 + timedelta(minutes=5), 60)
    run(tmp_path, "a.harl", lines)
    again = run(tmp_path, "b.harl", lines)  # an overlapping log rotation
    assert again["duplicates"] == len(lines) and again["stored"] == 0 and "detection" not in again  # nothing new
    assert again["alerts"]["credential_stuffing"] == 0
    assert len(alerts(tmp_path, "credential_stuffing")) == 1


def test_an_attack_split_over_two_runs_is_found_from_the_kept_state(tmp_path):
    start = T0 + timedelta(minutes=5)
    first = run(tmp_path, "a.harl", benign(T0, 10) + stuffing(start, 20))  # under the 30-attempt threshold
    assert first["alerts"]["credential_stuffing"] == 0
    second = run(tmp_path, "b.harl", stuffing(start + timedelta(seconds=200), 20, first=20))
    assert second["alerts"]["credential_stuffing"] == 1
    (alert,) = alerts(tmp_path, "credential_stuffing")
    assert alert["first_seen"] == start  # the episode includes the first run's attempts


def analysed_in_slices(tmp_path, monkeypatch, rows: int) -> tuple[dict, list[tuple]]:
    """The same records in two files (an overlapping rotation), analysed with slices of ``rows`` events."""
    monkeypatch.setattr(engine, "BATCH_ROWS", rows)
    lines = benign(T0, 30) + stuffing(T0 + timedelta(minutes=5), 60)
    root = tmp_path / str(rows)
    root.mkdir()
    (root / "a.harl").write_text("\n".join(lines) + "\n")
    (root / "b.harl").write_text("\n".join(lines[::-1]) + "\n")
    summary = analyze(RunRequest([str(root / "a.harl"), str(root / "b.harl")], root / "data", Settings()))
    with Catalog(root / "data", read_only=True) as catalog:
        found = load_alerts(catalog.db).select("detector", "entity", "first_seen", "last_seen", "detected_at",
                                               "events").rows()
    return summary, sorted(found)


def test_a_day_read_in_small_slices_raises_what_one_slice_does(tmp_path, monkeypatch):
    whole, expected = analysed_in_slices(tmp_path, monkeypatch, 1_000)
    sliced, found = analysed_in_slices(tmp_path, monkeypatch, 7)  # a slice per few seconds
    # (the evidence's window count differs: kept rows are evaluated again with every batch)
    assert (sliced["detection"]["events"], sliced["duplicates"]) == (whole["detection"]["events"],
                                                                     whole["duplicates"]) == (90, 90)
    assert found == expected and [a[0] for a in found] == ["credential_stuffing"]


def test_templates_looked_up_per_batch_equal_the_whole_mapping(tmp_path, monkeypatch):
    lines = [orjson.dumps({
        "startedDateTime": (T0 + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"), "time": 5,
        "_clientIP": ATTACKER, "request": {"method": "GET", "url": f"https://api.bank.example/v1/accounts/{i % 7}",
                                           "headers": []},
        "response": {"status": 200, "headers": [], "content": {"size": 2, "mimeType": "application/json",
                                                              "text": "{}"}},
    }).decode() for i in range(40)]
    run(tmp_path, "a.harl", lines)
    with Catalog(tmp_path / "data") as catalog:
        (part,) = plan(catalog.event_files(), 1_000)
        events = read(part)
        whole = engine._template_lookup(catalog.db)(events)
        monkeypatch.setattr(engine, "TEMPLATES_IN_MEMORY", 0)
        looked_up = engine._template_lookup(catalog.db)(events)
    assert looked_up.sort(pl.all()).equals(whole.sort(pl.all())) and whole.height == 7
    assert set(whole["template"]) == {"/v1/accounts/{account_id}"}


def test_detection_in_a_separate_process_raises_what_it_does_in_this_one(tmp_path, monkeypatch):
    """Big runs are detected in a fresh process (its memory apart from ingest's); the
    alerts, their evidence and the kept state are the same."""
    lines = benign(T0, 30) + stuffing(T0 + timedelta(minutes=5), 60)
    found = {}
    for mode, threshold in (("here", 10**9), ("apart", 1)):
        calls = []
        monkeypatch.setattr(pipeline, "ISOLATE_DETECTION_EVENTS", threshold)
        monkeypatch.setattr(pipeline, "run_isolated", lambda fn, *a, calls=calls, **kw: calls.append(fn) or run_isolated(fn, *a, **kw))
        root = tmp_path / mode
        root.mkdir()
        summary = run(root, "a.harl", lines)
        assert len(calls) == (mode == "apart")
        with Catalog(root / "data", read_only=True) as catalog:
            rows = load_alerts(catalog.db).select("detector", "entity_kind", "entity", "severity", "confidence",
                                                  "first_seen", "last_seen", "detected_at", "endpoints", "evidence",
                                                  "summary", "events").rows()
        state = engine.committed_state(root / "data")
        found[mode] = (summary["alerts"], rows, state.watermark, {k: v.height for k, v in state.frames().items()})
    assert found["apart"] == found["here"] and found["here"][0]["credential_stuffing"] == 1


def test_records_later_than_the_allowed_lateness_are_counted_and_replay_finds_them(tmp_path):
    run(tmp_path, "a.harl", benign(T0 + timedelta(hours=3), 30))
    late = run(tmp_path, "b.harl", stuffing(T0, 60))  # three hours behind the watermark
    assert late["detection"]["late"] == 60 and late["alerts"]["credential_stuffing"] == 0
    with Catalog(tmp_path / "data") as catalog:
        replay = run_detection(catalog, catalog.event_files(), Settings(), "replay", replay=True)
    assert replay["by_detector"]["credential_stuffing"] == 1
    with Catalog(tmp_path / "data") as catalog:  # replaying again repeats nothing
        again = run_detection(catalog, catalog.event_files(), Settings(), "replay-2", replay=True)
    assert again["new_alerts"] == 0


def test_a_record_from_a_wrong_clock_neither_moves_the_watermark_nor_makes_others_late(tmp_path):
    skewed = login(datetime.now(UTC) + timedelta(days=400), ATTACKER, "x@mail.example", 401)
    first = run(tmp_path, "a.harl", [skewed, *benign(T0, 5)])
    assert first["detection"]["future"] == 1
    assert engine.committed_state(tmp_path / "data").watermark == T0 + timedelta(minutes=4)
    second = run(tmp_path, "b.harl", stuffing(T0 + timedelta(minutes=5), 60))
    assert second["detection"]["late"] == 0 and second["alerts"]["credential_stuffing"] == 1


def test_history_written_before_newer_event_columns_is_replayed(tmp_path):
    run(tmp_path, "a.harl", stuffing(T0, 60))
    for f in (tmp_path / "data" / "events").glob("*/*.parquet"):  # as an older apisight wrote them
        pl.read_parquet(f).drop("login_fp", "session_fp").write_parquet(f)
    with Catalog(tmp_path / "data") as catalog:
        replay = run_detection(catalog, catalog.event_files(), Settings(), "replay", replay=True)
    assert replay["events"] == 60  # read with the missing columns as nulls ...
    with Catalog(tmp_path / "data", read_only=True) as catalog:  # ... and the alert stands, extended, not repeated
        assert len(load_alerts(catalog.db, detector="credential_stuffing")) == 1


def test_state_is_saved_bounded_and_reported_per_entity(tmp_path):
    settings = Settings.model_validate({"detect": {"lateness_minutes": 10}})
    summary = run(tmp_path, "a.harl", benign(T0, 100) + stuffing(T0 + timedelta(hours=2), 40), settings)
    state = engine.committed_state(tmp_path / "data")
    assert state.watermark == T0 + timedelta(hours=2, seconds=390)
    stuffing_rows = state.rows["credential_stuffing"]
    horizon = timedelta(hours=6, minutes=10)  # distributed window + lateness
    assert stuffing_rows["ts"].min() >= state.watermark - horizon
    brute_rows = state.rows["brute_force"]  # 15-minute window: the morning's logins are gone
    assert brute_rows["ts"].min() >= state.watermark - timedelta(minutes=25)
    assert summary["detection"]["state"]["active_entities"] > 0
    assert 0 < summary["detection"]["state"]["bytes_per_entity"] < 50_000


def test_a_disabled_detector_and_bad_settings(tmp_path):
    off = Settings.model_validate({"detect": {"detectors": {"credential_stuffing": {"enabled": False}}}})
    summary = run(tmp_path, "a.harl", stuffing(T0, 60), off)
    assert "credential_stuffing" not in summary["alerts"]
    strict = Settings.model_validate({"detect": {"detectors": {"credential_stuffing": {"min_attempts": 100}}}})
    assert run(tmp_path, "b.harl", stuffing(T0 + timedelta(hours=1), 60), strict)["alerts"]["credential_stuffing"] == 0
    config = tmp_path / "bad.yaml"
    config.write_text("detect:\n  detectors:\n    credential_stuffing:\n      min_attempts: -3\n")
    result = cli("detect", "--replay", "--config", str(config), "--data", str(tmp_path / "data"))
    assert result.returncode == 1
    assert "detect.detectors.credential_stuffing: min_attempts" in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()


def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "apisight.cli", *args], check=False, capture_output=True,
                          timeout=120, env={**os.environ, "COLUMNS": "200"})


def test_alerts_timeline_and_incidents_on_the_command_line(tmp_path):
    run(tmp_path, "a.harl", benign(T0, 30) + stuffing(T0 + timedelta(minutes=5), 60))
    data = str(tmp_path / "data")
    listed = cli("alerts", "--json", "--data", data)
    assert listed.returncode == 0, listed.stderr.decode()
    (alert,) = json.loads(listed.stdout)
    for key in ("id", "detector", "entity_kind", "entity", "severity", "start", "end", "endpoints", "evidence",
                "sample_event_ids", "owasp", "mitre", "incident_id"):
        assert key in alert
    assert alert["endpoints"] == ["POST /v1/auth/login"] and isinstance(alert["evidence"], dict)
    assert json.loads(cli("alerts", "--json", "--detector", "bola", "--data", data).stdout) == []
    timeline = json.loads(cli("timeline", ATTACKER, "--json", "--limit", "10", "--data", data).stdout)
    assert timeline["events_total"] == 60
    kinds = [i["type"] for i in timeline["items"]]
    assert kinds.count("alert") == 1 and kinds.count("event") == 10
    events = [i for i in timeline["items"] if i["type"] == "event"]
    assert events == sorted(events, key=lambda i: i["ts"])  # newest ten, oldest first
    # the sample event ids of the alert fetch the events with apisight query
    ids = ", ".join(f"'{i}'" for i in alert["sample_event_ids"])
    fetched = cli("query", f"SELECT client_ip FROM events WHERE event_id IN ({ids})", "--format", "json",
                  "--data", data)
    assert {r["client_ip"] for r in json.loads(fetched.stdout)} == {ATTACKER}
    incidents = json.loads(cli("incidents", "--json", "--data", data).stdout)
    assert [i["id"] for i in incidents] == [alert["incident_id"]]
    table = cli("alerts", "--data", data)
    assert b"credential_stuffing" in table.stdout and ATTACKER.encode() in table.stdout

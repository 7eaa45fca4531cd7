"""Hostile input against every line reader: no exception escapes, no good line is lost.

Each example is a batch of real lines (from the demo's writers) with hostile ones among
them: byte flips, truncation, quotes, NULs, huge, tiny and non-finite numbers, odd dates,
lone surrogate escapes and lines of another format. The batch goes through what a run
does with it: parse (:func:`~apisight.readers.guard.checked`), normalise (the batch job's
guarded normalisation) and write. ``bench/fuzz_readers.py`` runs the same targets longer,
coverage-guided.
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apisight.batches import BatchJob, _normalize_guarded
from apisight.config import Settings
from apisight.demo import demo_frames, writers
from apisight.fingerprints import Fingerprinter
from apisight.normalize import Normalizer
from apisight.readers import registry
from apisight.readers.base import ReaderOptions
from apisight.readers.guard import EARLIEST, LATEST, checked
from apisight.store import write_events
from tests.readers.helpers import lines_frame

WRITERS = {"nginx": writers.write_nginx, "alb": writers.write_alb, "envoy": writers.write_envoy,
           "kong": writers.write_kong, "harl": writers.write_harl}
HOSTILE_NUMBERS = ["1e999", "-1e999", "NaN", "-1", "99999999999999999999999999", "1e-999", "-0", "0x1F", ""]
HOSTILE_YEARS = ["-2026", "0000", "99999", "1969", "+2026"]
HOSTILE_TEXT = ["\x00", '"', "\\", "\\ud800", "\\udfff\\ud800", "\u202e", "\ufffd", "\t", "%00", "\\u0000"]


def jsonl_lines(frame: pl.DataFrame) -> list[str]:
    return [orjson.dumps({"time": r["ts"].isoformat(), "method": r["method"], "path": r["path"],
                          "status": r["status"], "client_ip": r["client_ip"], "bytes": r.get("response_bytes"),
                          "duration_ms": r.get("latency_ms")}, default=str).decode()
            for r in frame.head(40).to_dicts()]


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, list[str]]:
    frames = demo_frames(seed=3, scale=0.003)
    frame = pl.concat(list(frames.values())).sort("ts").head(40)
    folder = tmp_path_factory.mktemp("samples")
    found = {}
    for name, write in WRITERS.items():
        write(frame, folder / name)
        found[name] = [x for x in (folder / name).read_text(encoding="utf-8").splitlines() if x][:40]
    found["jsonl"] = jsonl_lines(frame)
    return found


@st.composite
def hostile(draw: st.DrawFn, line: str, others: list[str]) -> str:
    """One real line made hostile in one of the ways attackers and broken loggers do."""
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "number", "year", "other_format", "empty"]))
    at = draw(st.integers(0, max(len(line) - 1, 0)))
    if kind == "flip":
        return line[:at] + draw(st.characters(blacklist_categories=("Cs",))) + line[at + 1:]
    if kind == "truncate":
        return line[:at]
    if kind == "insert":
        return line[:at] + draw(st.sampled_from(HOSTILE_TEXT)) + line[at:]
    if kind == "number":
        numbers = list(re.finditer(r"\d+(?:\.\d+)?", line))
        if not numbers:
            return line + "1e999"
        m = draw(st.sampled_from(numbers))
        return line[:m.start()] + draw(st.sampled_from(HOSTILE_NUMBERS)) + line[m.end():]
    if kind == "year":
        return re.sub(r"20\d\d", draw(st.sampled_from(HOSTILE_YEARS)), line, count=1)
    if kind == "other_format":
        return draw(st.sampled_from(others))
    return ""


@st.composite
def batches(draw: st.DrawFn, good: list[str], others: list[str]) -> tuple[list[str], list[int]]:
    """A batch of good and hostile lines, and which line numbers hold good ones."""
    plan = draw(st.lists(st.booleans(), min_size=2, max_size=24))
    lines, kept = [], []
    for i, is_good in enumerate(plan, start=1):
        line = draw(st.sampled_from(good))
        if is_good:
            kept.append(i)
            lines.append(line)
        else:
            lines.append(draw(hostile(line, others)))
    return lines, kept


def check(fmt: str, lines: list[str], good: list[int], tmp_path: Path) -> None:
    reader = registry.create(fmt, ReaderOptions())
    frame = lines_frame(lines)
    parsed = checked(reader.parse, frame)  # raises nothing, whatever the lines hold
    assert set(good) <= set(parsed.records["line_no"]), "a good line was lost beside hostile ones"
    assert parsed.records.height + parsed.malformed.height >= len(good)
    settings_ = Settings()
    job = BatchJob(lambda: parsed, fmt, f"fuzz.{fmt}", "fuzz-1", str(tmp_path), settings_.model_dump_json(), b"k" * 32)
    normalizer = Normalizer(settings_, Fingerprinter(b"k" * 32))
    events, _, failed = _normalize_guarded(normalizer, parsed.records, job, job.batch_id)
    assert not set(good) & set(failed["line_no"]), "a good line failed normalisation"
    assert events["event_id"].n_unique() == events.height
    dated = events["ts"].drop_nulls()
    assert dated.is_empty() or (dated.min() >= EARLIEST and dated.max() <= LATEST)
    write_events(tmp_path, events, "fuzz-1")  # the store takes whatever normalisation let through


@pytest.mark.parametrize("fmt", ["nginx", "alb", "envoy", "kong", "harl", "jsonl"])
def test_hostile_lines_never_stop_a_batch_or_cost_a_good_line(fmt, samples, tmp_path_factory):
    others = [x for name, lines in samples.items() if name != fmt for x in lines[:5]]
    folder = tmp_path_factory.mktemp(f"fuzz-{fmt}")

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.function_scoped_fixture])
    @given(batch=batches(samples[fmt], others))
    def run(batch: tuple[list[str], list[int]]) -> None:
        check(fmt, *batch, folder)

    run()


@pytest.mark.parametrize(("fmt", "line", "reason"), [
    ("alb", ('https 2026-11-25T01:55:42.123456Z app/lb/1 203.0.113.7:2817 10.0.0.1:80 1e999 0.001 0.000 200 200 '
             '34 366 "GET https://api.example.com:443/v1/a HTTP/1.1" "curl/7.46.0" - TLSv1.2 - '
             '"Root=1-58337262-36d228ad5d99923122bbe354" "api.example.com" "-" 0 2026-11-25T01:55:42.123456Z '
             '"forward" "-" "-" "10.0.0.1:80" "200" "-" "-"'), None),
    ("nginx", '1.2.3.4 - - [25/Nov/-2026:01:55:42 +0000] "GET /v1/a HTTP/1.1" 200 5 "-" "curl"',
     "time out of range"),
])
def test_the_inputs_that_stopped_whole_runs(fmt, line, reason, samples):
    """Regression: each of these once raised for the whole batch (exit 2, good lines lost)."""
    good = samples[fmt][:3]
    parsed = checked(registry.create(fmt, ReaderOptions()).parse, lines_frame([*good, line]))
    assert sorted(parsed.records["line_no"]) == ([1, 2, 3, 4] if reason is None else [1, 2, 3])
    if reason is None:  # the record is kept; the value it could not hold is left out
        assert parsed.records.filter(pl.col("line_no") == 4)["latency_ms"].item() is None
    else:
        assert reason in parsed.malformed["reason"].item()


def test_a_lone_surrogate_in_kong_headers_costs_only_its_own_line(samples):
    entry = orjson.loads(samples["kong"][0])
    entry["request"]["headers"]["x-evil"] = "PLACEHOLDER"
    bad = orjson.dumps(entry).decode().replace("PLACEHOLDER", "\\ud800")
    parsed = checked(registry.create("kong", ReaderOptions()).parse, lines_frame([samples["kong"][1], bad, samples["kong"][2]]))
    assert sorted(parsed.records["line_no"]) == [1, 3]
    assert parsed.malformed["line_no"].to_list() == [2]

"""The whole foundation as a user meets it: every format in, canonical events out, no secret kept."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import polars as pl
import pytest

from apisight.config import Settings
from apisight.demo import demo_frames, writers
from apisight.pipeline import RunRequest, analyze
from apisight.readers.base import ReaderOptions
from apisight.store import Catalog

WRITERS = {
    "nginx": writers.write_nginx,
    "harl": writers.write_harl,
    "envoy": writers.write_envoy,
    "kong": writers.write_kong,
    "alb": writers.write_alb,
    "har": writers.write_har,
}


@pytest.fixture(scope="module")
def traffic() -> pl.DataFrame:
    frames = demo_frames(seed=5, scale=0.02)
    return pl.concat(list(frames.values())).sort("ts")


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_each_format_is_detected_and_every_request_arrives_intact(fmt, traffic, tmp_path):
    path = tmp_path / f"traffic.{fmt}"
    WRITERS[fmt](traffic, path)
    summary = analyze(RunRequest([str(path)], tmp_path / "data", Settings()))
    assert summary["sources"] == {fmt: traffic.height}
    assert summary["malformed"]["total"] == 0
    with Catalog(tmp_path / "data") as catalog:
        stored = catalog.query("SELECT method, path, status FROM events ORDER BY ALL").rows
    expected = traffic.select("method", "path", pl.col("status").cast(pl.Int64)).sort(pl.all()).rows()
    assert [(m, p, int(s)) for m, p, s in stored] == expected


def test_custom_nginx_format_recovers_clients_behind_trusted_proxies(traffic, tmp_path):
    from apisight.demo.writers import PARTNER_FORMAT

    partner = traffic.filter(pl.col("forwarded_for").is_not_null())
    assert partner.height > 0
    path = tmp_path / "partner.log"
    writers.write_nginx_custom(partner, path, PARTNER_FORMAT)
    settings = Settings.model_validate({"network": {"trusted_proxies": ["10.0.0.0/8"]}})
    request = RunRequest([str(path)], tmp_path / "data", settings, options=ReaderOptions(log_format=PARTNER_FORMAT))
    assert analyze(request)["records"] == partner.height
    with Catalog(tmp_path / "data") as catalog:
        clients = catalog.query("SELECT DISTINCT client_ip FROM events ORDER BY 1").rows
        keys = catalog.query("SELECT count(DISTINCT api_key_id) FROM events").rows[0][0]
    expected_clients = partner.select(pl.col("forwarded_for").str.split(",").list.last().str.strip_chars())
    assert sorted(c for (c,) in clients) == sorted(expected_clients.unique().to_series().to_list())
    assert keys == partner.select(pl.col("api_key").n_unique()).item()


SECRET_PATTERNS = [
    re.compile(r"Bearer (eyJ[A-Za-z0-9_.-]+)"),
    re.compile(r"(pk_live_[0-9a-f]{16,})"),
    re.compile(r'\\?"password\\?"\s*:\s*\\?"([^"\\]{6,})'),
    # sensitive values in bodies: cards, IBANs, SSNs, phones, e-mails
    *(re.compile(r'\\"' + name + r'\\":\\"([^"\\]{6,})') for name in ("pan", "iban", "ssn", "phone", "email")),
]


def test_demo_twice_then_no_secret_anywhere_in_the_data_dir(tmp_path):
    demo_dir = tmp_path / "demo"
    for _ in range(2):  # a second run must regenerate, not crash on what is there
        result = subprocess.run(
            [sys.executable, "-m", "apisight.cli", "demo", "--dir", str(demo_dir), "--scale", "0.2", "--json"],
            capture_output=True, timeout=300, check=False,
        )
        assert result.returncode == 0, result.stderr.decode()[-2000:]
    summary = json.loads(result.stdout)
    assert summary["hosts"] == 3 and summary["malformed"]["total"] == 0
    assert set(summary["sources"]) == {"harl", "nginx", "envoy", "har"}

    found: list[set[str]] = [set() for _ in SECRET_PATTERNS]
    for path in (demo_dir / "input" / "traffic").iterdir():
        text = path.read_text()
        for kind, pattern in zip(found, SECRET_PATTERNS, strict=True):
            kind.update(pattern.findall(text))
    assert all(len(kind) > 10 for kind in found)  # tokens, keys, passwords and sensitive values to look for
    secrets = set().union(*found)
    digits_only = {re.sub(r"\D", "", v) for v in found[3] | found[4]}  # cards and IBAN digits, compacted
    secrets |= {d for d in digits_only if len(d) >= 12}

    stored: list[str] = []
    for path in (demo_dir / "data").rglob("*"):
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            stored += [v for c in frame.columns if frame[c].dtype == pl.String for v in frame[c].drop_nulls()]
        elif path.is_file():
            stored.append(path.read_bytes().decode("latin-1"))
    haystack = "\n".join(stored)
    leaked = [s for s in secrets if s in haystack]
    assert leaked == []

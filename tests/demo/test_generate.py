"""The demo data set: determinism, labels, specs, traffic shape and valid sensitive values."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import jwt
import orjson
import polars as pl
import pytest
import yaml
from stdnum import iban, luhn
from stdnum.us import ssn

from apisight.demo import DemoManifest, generate_demo, tokens
from apisight.demo.bank import ROLLOUT_US
from apisight.demo.endpoints import ENDPOINTS
from apisight.demo.population import Population
from apisight.demo.posture import plant


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


FILES = ("traffic/retail-api.harl", "traffic/partner-gateway.log", "traffic/internal-mesh.log",
         "traffic/web-session.har", "openapi/demobank-retail.yaml", "openapi/demobank-partner.yaml",
         "labels/scenarios.jsonl", "labels/requests.parquet", "labels/posture.jsonl")


def test_manifest_lists_the_files(demo: DemoManifest) -> None:
    assert {f.format for f in demo.files} == {"harl", "nginx", "envoy", "har"}
    assert all(f.path.is_file() for f in demo.files)
    assert [p.name for p in demo.specs] == ["demobank-retail.yaml", "demobank-partner.yaml"]
    assert demo.labels.name == "scenarios.jsonl"
    assert demo.posture_labels is not None and demo.posture_labels.name == "posture.jsonl"
    assert demo.start < demo.end
    nginx = next(f for f in demo.files if f.format == "nginx")
    assert nginx.log_format and "$http_x_api_key" in nginx.log_format


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = generate_demo(tmp_path / "a", seed=3, scale=0.05)
    b = generate_demo(tmp_path / "b", seed=3, scale=0.05)
    c = generate_demo(tmp_path / "c", seed=4, scale=0.05)
    for name in FILES:
        assert (a.out_dir / name).read_bytes() == (b.out_dir / name).read_bytes(), name
    assert (a.out_dir / FILES[0]).read_bytes() != (c.out_dir / FILES[0]).read_bytes()
    assert a.records == b.records


def test_record_count_matches_files(demo: DemoManifest, harl_entries: list[dict],
                                    demo_population: Population) -> None:
    partner = read_lines(demo.out_dir / "traffic/partner-gateway.log")
    internal = read_lines(demo.out_dir / "traffic/internal-mesh.log")
    har = orjson.loads((demo.out_dir / "traffic/web-session.har").read_bytes())["log"]["entries"]
    assert len(harl_entries) + len(partner) + len(internal) + len(har) == demo.records
    scenarios = [orjson.loads(x) for x in demo.labels.read_bytes().splitlines()]
    injected = sum(s["request_count"] for s in scenarios if s["name"] != "api_version_rollout")  # rollout: baseline
    planted = sum(f.height for f in plant(demo_population, 7)[1].values())  # posture weaknesses and look-alikes
    assert 0 < planted < 2_000
    assert 24_000 <= demo.records - injected - planted <= 26_000  # ~100k x 0.25 baseline


def _bodies(entries: list[dict]) -> str:
    texts = [e["response"]["content"].get("text", "") for e in entries]
    texts += [e["request"].get("postData", {}).get("text", "") for e in entries]
    return "\n".join(texts)


def test_card_numbers_ibans_and_ssns_are_valid(harl_entries: list[dict]) -> None:
    bodies = _bodies(harl_entries)
    pans = re.findall(r'"pan":"(\d+)"', bodies)
    ibans = re.findall(r'"(?:iban|payee_iban)":"([A-Z]{2}\d{2}[A-Z0-9]+)"', bodies)
    ssns = re.findall(r'"ssn":"([\d-]+)"', bodies)
    assert len(pans) > 50 and len(ibans) > 500 and len(ssns) > 100
    assert all(luhn.is_valid(p) for p in pans)
    assert all(iban.is_valid(i) for i in ibans)
    assert {i[:2] for i in ibans} >= {"GB", "DE", "FR"}
    assert all(ssn.is_valid(s) for s in ssns)


def test_login_bodies_and_jwts(harl_entries: list[dict]) -> None:
    logins = [e for e in harl_entries if e["request"]["url"].endswith("/v1/auth/login")]
    body = orjson.loads(logins[0]["request"]["postData"]["text"])
    assert set(body) == {"username", "password"}
    auth = next(h["value"] for e in harl_entries[:50] for h in e["request"]["headers"] if h["name"] == "Authorization")
    claims = jwt.decode(auth.removeprefix("Bearer "), tokens.public_key(), algorithms=["EdDSA"],
                        options={"verify_exp": False})
    assert {"sub", "iss", "client_id", "exp", "iat"} <= set(claims)
    assert jwt.get_unverified_header(auth.removeprefix("Bearer "))["alg"] == "EdDSA"


def test_labels_point_at_real_requests_inside_their_time_range(demo: DemoManifest) -> None:
    scenarios = [orjson.loads(x) for x in demo.labels.read_bytes().splitlines()]
    names = {s["name"] for s in scenarios}
    assert {"credential_stuffing", "distributed_stuffing", "brute_force", "account_takeover", "bola_enumeration",
            "scraping", "shadow_endpoint", "deprecated_endpoint", "bfla_probing", "error_probing", "volume_abuse",
            "token_theft", "partner_nightly_batch", "mobile_retry_storm", "marketing_spike", "business_customer",
            "forgetful_user", "api_version_rollout"} == names
    assert {s["expected"] for s in scenarios if s["name"] == "api_version_rollout"} == {"no_alert"}
    labels = pl.read_parquet(demo.labels.parent / "requests.parquet")
    assert labels["request_id"].is_unique().all()
    ids = set()
    for f in demo.files:
        text = f.path.read_text(encoding="utf-8")
        ids |= set(re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", text))
    assert set(labels["request_id"].to_list()) <= ids
    for s in scenarios:
        rows = labels.filter(pl.col("scenario") == s["name"])
        assert rows.height == s["request_count"] > 0
        start, end = (datetime.fromisoformat(s[k]) for k in ("start", "end"))
        assert rows["ts"].min() == start and rows["ts"].max() == end
        assert s["entity"]["kind"] and s["entity"]["value"]


def test_stuffing_is_mostly_401_and_bola_mostly_403_404(harl_entries: list[dict], demo: DemoManifest) -> None:
    labels = pl.read_parquet(demo.labels.parent / "requests.parquet")
    by_id = {next(h["value"] for h in e["request"]["headers"] if h["name"] == "X-Request-Id"): e["response"]["status"]
             for e in harl_entries}
    for name, codes, share in (("credential_stuffing", {401}, 0.8), ("bola_enumeration", {403, 404}, 0.8)):
        ids = labels.filter(pl.col("scenario") == name)["request_id"].to_list()
        got = [by_id[i] for i in ids]
        assert sum(c in codes for c in got) / len(got) >= share


def test_rollout_field_appears_for_everyone_at_the_rollout(harl_entries: list[dict]) -> None:
    cutoff = datetime.fromtimestamp(ROLLOUT_US / 1e6).isoformat()
    accounts = [e for e in harl_entries if re.search(r"/v2/accounts/\d+$", e["request"]["url"])
                and e["response"]["status"] == 200]
    before = [e for e in accounts if e["startedDateTime"] < cutoff]
    after = [e for e in accounts if e["startedDateTime"] >= cutoff]
    assert before and after
    assert not any("overdraft_limit" in e["response"]["content"]["text"] for e in before)
    assert all("overdraft_limit" in e["response"]["content"]["text"] for e in after)


def test_specs_omit_the_shadow_endpoint_and_deprecate_v1(demo: DemoManifest) -> None:
    retail = yaml.safe_load(demo.specs[0].read_text())
    partner = yaml.safe_load(demo.specs[1].read_text())
    for doc in (retail, partner):
        assert doc["openapi"].startswith("3.") and doc["servers"][0]["url"].startswith("https://")
        assert doc["components"]["securitySchemes"]
    assert "/v2/beta/spending-insights/{account_id}" not in retail["paths"]
    assert retail["paths"]["/v1/customers/me"]["get"]["deprecated"] is True
    assert "deprecated" not in retail["paths"]["/v2/customers/me"]["get"]
    params = retail["paths"]["/v2/accounts/{account_id}"]["get"]["parameters"]
    assert params[0] == {"name": "account_id", "in": "path", "required": True,
                         "schema": {"type": "integer", "format": "int64"}}
    documented = sum(len(p) for d in (retail, partner) for p in d["paths"].values())
    public = [e for e in ENDPOINTS if not e.host.startswith("core.")]
    assert documented == sum(e.documented for e in public) >= 0.7 * len(public)
    assert "/admin/v1/users" not in retail["paths"]  # what the BFLA probe asks for is not the bank's API


def test_diurnal_shape(harl_entries: list[dict]) -> None:
    # logins are left out: the stuffing scenarios run at night on purpose
    hours = [int(e["startedDateTime"][11:13]) for e in harl_entries if "/auth/login" not in e["request"]["url"]]
    midday = sum(11 <= h < 14 for h in hours)
    night = sum(2 <= h < 5 for h in hours)
    assert midday > 4 * night


@pytest.mark.parametrize("scale", [0.0, -1.0])
def test_bad_scale_is_a_config_error(tmp_path: Path, scale: float) -> None:
    from apisight.errors import ConfigError

    with pytest.raises(ConfigError):
        generate_demo(tmp_path, scale=scale)

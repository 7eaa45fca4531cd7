"""The labelled scenarios show, in the files a reader sees, what their labels claim."""

from __future__ import annotations

import ipaddress
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jwt
import numpy as np
import orjson
import polars as pl
import pytest
from geoip2fast import GeoIP2Fast

from apisight.demo import DemoManifest, bank, tokens, writers
from apisight.demo.population import Population, build_population
from apisight.demo.render import render
from apisight.demo.scenarios import BUILDERS
from apisight.demo.scenarios.probing import ODD_PARAMS, PAYLOADS

R, P = bank.RETAIL_HOST, bank.PARTNER_HOST
DETECTORS = {"credential_stuffing", "brute_force", "account_takeover", "bola", "scraping", "abnormal_volume", "bfla",
             "error_probing"}
#: name, kind, entity kind, expected, host
NEW = (
    ("bfla_probing", "bfla", "principal", "alert", R),
    ("error_probing", "error_probing", "ip", "alert", R),
    ("volume_abuse", "abnormal_volume", "api_key", "alert", P),
    ("token_theft", "account_takeover", "principal", "alert", R),
    ("partner_nightly_batch", "benign", "api_key", "no_alert", P),
    ("mobile_retry_storm", "benign", "user_agent", "no_alert", R),
    ("marketing_spike", "benign", "endpoint", "no_alert", R),
    ("business_customer", "benign", "principal", "no_alert", R),
    ("forgetful_user", "benign", "username", "no_alert", R),
)
PARTNER_LINE = re.compile(
    r'^(?P<addr>\S+) - \S+ \[(?P<time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<target>\S+) HTTP/1\.1" (?P<status>\d{3}) '
    r'\d+ "[^"]*" "(?P<ua>[^"]*)" \S+ "(?P<xff>[^"]*)" "(?P<key>[^"]*)" \S+ "(?P<rid>[^"]*)"$'
)
URL_SAFE = re.compile(r"[A-Za-z0-9_.~%&=/?-]+")


def _har_request(e: dict) -> dict:
    req, resp = e["request"], e["response"]
    headers = {h["name"]: h["value"] for h in req["headers"]}
    url = urlsplit(req["url"])
    return {"id": headers["X-Request-Id"], "ts": datetime.fromisoformat(e["startedDateTime"]),
            "method": req["method"], "path": url.path, "query": url.query, "status": resp["status"],
            "ip": e["_clientIP"], "ua": headers.get("User-Agent"), "auth": headers.get("Authorization"),
            "key": None, "body": req.get("postData", {}).get("text"), "response": resp["content"].get("text")}


def _partner_request(line: str) -> dict:
    m = PARTNER_LINE.match(line)
    assert m, line
    path, _, query = m["target"].partition("?")
    return {"id": m["rid"], "ts": datetime.strptime(m["time"], "%d/%b/%Y:%H:%M:%S %z"), "method": m["method"],
            "path": path, "query": query, "status": int(m["status"]), "ip": m["xff"], "ua": m["ua"], "auth": None,
            "key": m["key"], "body": None, "response": None}


@pytest.fixture(scope="module")
def requests(demo: DemoManifest, harl_entries: list[dict]) -> dict[str, dict]:
    """Every retail and partner request of the demo, by request id."""
    partner = (demo.out_dir / "traffic/partner-gateway.log").read_text(encoding="utf-8").splitlines()
    found = [_har_request(e) for e in harl_entries] + [_partner_request(x) for x in partner]
    return {r["id"]: r for r in found}


@pytest.fixture(scope="module")
def labels(demo: DemoManifest) -> dict[str, dict]:
    return {s["name"]: s for s in map(orjson.loads, demo.labels.read_bytes().splitlines())}


@pytest.fixture(scope="module")
def rows(demo: DemoManifest, requests: dict[str, dict]) -> dict[str, list[dict]]:
    """The rendered requests of each scenario, in time order."""
    labelled = pl.read_parquet(demo.labels.parent / "requests.parquet")
    out: dict[str, list[dict]] = defaultdict(list)
    for rid, name in labelled.select("request_id", "scenario").iter_rows():
        if rid in requests:
            out[name].append(requests[rid])
    return {name: sorted(found, key=lambda r: r["ts"]) for name, found in out.items()}


def _sub(auth: str | None) -> str | None:
    """The subject of a validly signed demo JWT, else None."""
    if not auth or not auth.startswith("Bearer eyJ"):
        return None
    try:
        claims = jwt.decode(auth.removeprefix("Bearer "), tokens.public_key(), algorithms=["EdDSA"],
                            options={"verify_exp": False})
    except jwt.InvalidTokenError:
        return None
    return str(claims["sub"])


def _customer(pop: Population, customer_id: str) -> dict:
    return pop.customers.filter(pl.col("customer_id") == int(customer_id)).row(0, named=True)


def _span(found: list[dict]) -> timedelta:
    return found[-1]["ts"] - found[0]["ts"]


@cache
def _population(scale: float) -> Population:
    return build_population(11, scale)


@pytest.mark.parametrize(("name", "kind", "entity_kind", "expected", "host"), NEW)
def test_each_new_scenario_is_labelled(labels: dict, rows: dict, name: str, kind: str, entity_kind: str,
                                       expected: str, host: str) -> None:
    s = labels[name]
    assert (s["kind"], s["entity"]["kind"], s["expected"], s["host"]) == (kind, entity_kind, expected, host)
    assert s["request_count"] == len(rows[name]) > 0
    assert s["description"] and s["endpoints"]


def test_kinds_are_detector_names_and_look_alikes_are_benign(labels: dict) -> None:
    alerts = {s["kind"] for s in labels.values() if s["expected"] == "alert"}
    assert DETECTORS <= alerts <= DETECTORS | {"shadow_endpoint", "zombie_endpoint"}
    quiet = {s["name"]: s["kind"] for s in labels.values() if s["expected"] == "no_alert"}
    assert set(quiet.values()) == {"benign", "api_change"} and quiet["api_version_rollout"] == "api_change"


@pytest.mark.parametrize("name", [n for n, *_ in NEW])
def test_the_entity_is_who_sent_the_requests(labels: dict, rows: dict, name: str) -> None:
    entity = labels[name]["entity"]
    found = rows[name]
    kind, value = entity["kind"], entity["value"]
    if kind == "principal":
        assert {_sub(r["auth"]) for r in found} == {value}
    elif kind == "ip":
        assert {r["ip"] for r in found} == {value}
    elif kind == "api_key":
        assert {r["key"] for r in found} == {value}
    elif kind == "user_agent":
        assert {r["ua"] for r in found} == {value}
    elif kind == "username":
        logins = [r for r in found if r["path"] == "/v1/auth/login"]
        assert logins and {orjson.loads(r["body"])["username"] for r in logins} == {value}
    else:
        method, path = value.split(" ")
        assert sum(r["method"] == method and r["path"] == path for r in found) >= 0.2 * len(found)


def test_bfla_probing(labels: dict, rows: dict, demo_population: Population) -> None:
    found = rows["bfla_probing"]
    assert 40 <= len(found) <= 80 and _span(found) <= timedelta(minutes=15)
    assert sum(r["status"] in (403, 404, 405) for r in found) >= 0.85 * len(found)
    probed = {(r["method"], r["path"]) for r in found if r["status"] >= 400}
    privileged = {p for _, p in probed if re.match(r"/(admin|internal|actuator|debug)/", p)}
    assert len({re.sub(r"/\d+$", "/{id}", p) for p in privileged}) >= 5
    assert {"DELETE", "PUT", "PATCH", "POST"} <= {m for m, _ in probed}
    customer = _customer(demo_population, labels["bfla_probing"]["entity"]["value"])
    assert {r["ip"] for r in found} == {customer["home_ip"]}


def test_error_probing_sends_encoded_injection_payloads(rows: dict) -> None:
    found = rows["error_probing"]
    assert 250 <= len(found) <= 350 and _span(found) <= timedelta(minutes=11)
    markers = [*PAYLOADS, *(n for n, _ in ODD_PARAMS)]
    for r in found:
        target = r["path"] + ("?" + r["query"] if r["query"] else "")
        assert URL_SAFE.fullmatch(target), target  # URL-encoded, as a client sends it
        decoded = unquote(target)
        assert any(m in decoded for m in markers), target
        assert _sub(r["auth"]) is None
    assert any(len(r["path"]) + len(r["query"]) > 1000 for r in found)
    statuses = Counter(r["status"] for r in found)
    assert sum(n for s, n in statuses.items() if 400 <= s < 500) >= 0.8 * len(found)
    assert 0 < statuses[500] <= 0.2 * len(found) and statuses[200] == 0
    assert len({r["path"].rsplit("/", 1)[0] for r in found}) >= 3


@pytest.mark.parametrize("fmt", ["harl", "nginx", "nginx-partner", "envoy", "kong", "alb"])
def test_error_probing_rows_parse_in_every_writer(tmp_path: Path, fmt: str) -> None:
    pop = _population(0.05)
    index = next(i for i, b in enumerate(BUILDERS) if b.__name__ == "error_probing")
    _, skel = BUILDERS[index](pop, np.random.default_rng([11, 100 + index]))
    frame = render(skel, pop, np.random.default_rng(0))
    path = tmp_path / "out"
    if fmt == "nginx-partner":
        writers.write_nginx_custom(frame, path, writers.PARTNER_FORMAT)
    else:
        getattr(writers, f"write_{fmt}")(frame, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == frame.height
    targets = [p + ("?" + q if q else "") for p, q in frame.select("path", "query").iter_rows()]
    for line, target in zip(lines, targets, strict=True):
        if fmt in ("harl", "envoy", "kong"):
            obj = orjson.loads(line)
            got = {"harl": lambda o: o["request"]["url"].split(R, 1)[1], "envoy": lambda o: o["path"],
                   "kong": lambda o: o["upstream_uri"]}[fmt](obj)
        elif fmt == "alb":
            got = re.search(r'"GET https://[^/]+:443(\S+) HTTP/1\.1"', line)[1]  # type: ignore[index]
        else:
            got = re.search(r'"GET (\S+) HTTP/1\.1"', line)[1]  # type: ignore[index]
        assert got == target


def test_volume_abuse(labels: dict, rows: dict, requests: dict) -> None:
    found = rows["volume_abuse"]
    key = labels["volume_abuse"]["entity"]["value"]
    assert key not in {labels["scraping"]["entity"]["value"], labels["partner_nightly_batch"]["entity"]["value"]}
    assert {r["status"] for r in found} == {200} and _span(found) <= timedelta(minutes=40)
    assert found[0]["ts"] >= datetime(2026, 11, 27, 14, tzinfo=UTC)
    accounts = {re.fullmatch(r"/open-banking/v3\.1/aisp/accounts/(\d+)/balances", r["path"])[1]  # type: ignore[index]
                for r in found}
    assert 3 <= len(accounts) <= 8
    usual = sum(r["key"] == key for r in requests.values()) - len(found)
    per_hour_usual = usual / (bank.DAYS * 24)
    assert len(found) / (40 / 60) >= 20 * per_hour_usual


def test_token_theft(labels: dict, rows: dict, demo_population: Population) -> None:
    found = rows["token_theft"]
    assert _span(found) <= timedelta(minutes=30)
    assert len({r["auth"] for r in found}) == 1  # one token, replayed
    customer = _customer(demo_population, labels["token_theft"]["entity"]["value"])
    day = (found[0]["ts"] - bank.START).days
    assert found[0]["auth"] == "Bearer " + demo_population.tokens[day * demo_population.n_customers
                                                                  + customer["customer_id"] - 1_000_000]
    addresses = {r["ip"] for r in found}
    assert len(addresses) >= 20 and all(ipaddress.ip_address(a).is_global for a in addresses)
    assert not addresses & (set(demo_population.customers["home_ip"]) | set(demo_population.customers["mobile_ip"]))
    geo = GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn.dat.gz")
    countries = {geo.lookup(a).country_code for a in addresses}
    assert len(countries - {"--", "GB"}) >= 4
    assert {r["method"] for r in found} == {"GET"} and {r["status"] for r in found} == {200}


def test_partner_nightly_batch(labels: dict, rows: dict, demo_population: Population) -> None:
    found = rows["partner_nightly_batch"]
    assert labels["partner_nightly_batch"]["entity"]["value"] != labels["scraping"]["entity"]["value"]
    assert {r["status"] for r in found} == {200}
    existing = set(demo_population.customers["account_id"].cast(pl.String))
    nights: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for r in found:
        assert (1, 0) <= (r["ts"].hour, r["ts"].minute) < (2, 30)
        m = re.fullmatch(r"/open-banking/v3\.1/aisp/accounts/(\d+)/(balances|transactions)", r["path"])
        assert m
        nights[r["ts"].day][m[2]].append(m[1])
    assert len(nights) == bank.DAYS
    first = None
    for night in nights.values():
        balances, txns = night["balances"], night["transactions"]
        assert len(set(balances)) == len(balances) == len(txns) and set(balances) == set(txns)
        assert set(balances) <= existing and len(balances) >= 200
        ids = np.array(balances, dtype=np.int64)
        assert 0.3 < np.mean(np.diff(ids) > 0) < 0.7  # random order, not a walk
        assert ids.max() - ids.min() > 3 * len(ids)  # scattered, not a contiguous range
        first = first or set(balances)
        assert set(balances) == first  # the same consented accounts every night


def test_mobile_retry_storm(labels: dict, rows: dict) -> None:
    found = rows["mobile_retry_storm"]
    assert _span(found) <= timedelta(minutes=15)
    by_client: dict[str, list[int]] = defaultdict(list)
    for r in found:
        by_client[_sub(r["auth"])].append(r["status"])  # type: ignore[index]
    assert len(by_client) >= 100
    assert all(10 <= len(s) <= 40 for s in by_client.values())
    assert sum(r["status"] in (503, 504) for r in found) >= 0.9 * len(found)
    assert any(200 in s for s in by_client.values())
    assert all(s.index(200) == len(s) - 1 for s in by_client.values() if 200 in s)  # it stops once through
    assert {r["path"].rsplit("/", 1)[0] for r in found} <= {"/v2", "/v2/accounts"}


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0])
def test_retry_storm_and_batch_size_with_the_bank(scale: float) -> None:
    pop = _population(scale)
    built = {b.__name__: b(pop, np.random.default_rng([11, 100 + i])) for i, b in enumerate(BUILDERS)}
    assert built["mobile_retry_storm"][1]["cust"].n_unique() >= 100
    batch = built["partner_nightly_batch"][1]
    assert batch["cust"].n_unique() == min(pop.n_customers // 2, round(1500 * scale))
    assert built["marketing_spike"][1]["cust"].n_unique() >= 40 * scale


def test_marketing_spike(rows: dict, requests: dict, demo_population: Population) -> None:
    found = rows["marketing_spike"]
    logins = [r for r in found if r["path"] == "/v1/auth/login"]
    customers = {c["email"]: c for c in demo_population.customers.iter_rows(named=True)}
    users = [orjson.loads(r["body"])["username"] for r in logins]
    assert set(users) <= set(customers)
    failed = sum(r["status"] == 401 for r in logins) / len(logins)
    assert 0.02 <= failed <= 0.2
    assert len({u for u, r in zip(users, logins, strict=True) if r["status"] == 200}) == len(set(users))
    by_id = {str(c["customer_id"]): c for c in customers.values()}
    for r in found:  # everyone from their own usual address and app
        login = r["path"] == "/v1/auth/login"
        customer = customers[orjson.loads(r["body"])["username"]] if login else by_id[_sub(r["auth"])]  # type: ignore[index]
        assert r["ip"] in (customer["home_ip"], customer["mobile_ip"]) and r["ua"] == customer["user_agent"]
    attacks = {r["id"] for name, found in rows.items() if name != "marketing_spike" for r in found}
    noon = Counter(r["ts"].day for r in requests.values()
                   if r["path"] == "/v1/auth/login" and r["ts"].hour == 12 and r["id"] not in attacks)
    assert noon[27] >= 3 * (noon[25] + noon[26]) / 2  # the campaign's hour against the same hour before


def test_business_customer(labels: dict, rows: dict, harl_entries: list[dict],
                           demo_population: Population) -> None:
    found = rows["business_customer"]
    principal = labels["business_customer"]["entity"]["value"]
    assert {r["status"] for r in found} == {200}
    owned = set()
    for r in found:
        m = re.fullmatch(r"/v2/accounts/(\d+)(/transactions)?", r["path"])
        if m and not m[2]:
            body = orjson.loads(r["response"])
            assert str(body["account_id"]) == m[1] and str(body["customer_id"]) == principal
            owned.add(m[1])
    assert len(owned) >= 35
    assert not owned & set(demo_population.customers["account_id"].cast(pl.String))
    mine = {r["id"] for r in found}
    others = [e for e in harl_entries if next(h["value"] for h in e["request"]["headers"]
                                              if h["name"] == "X-Request-Id") not in mine]
    assert not any(re.search(r"/v2/accounts/(\d+)", e["request"]["url"]) and
                   re.search(r"/v2/accounts/(\d+)", e["request"]["url"])[1] in owned for e in others)


def test_forgetful_user(labels: dict, rows: dict, demo_population: Population) -> None:
    found = rows["forgetful_user"]
    email = labels["forgetful_user"]["entity"]["value"]
    customer = next(c for c in demo_population.customers.iter_rows(named=True) if c["email"] == email)
    logins = [r["status"] for r in found if r["path"] == "/v1/auth/login"]
    assert logins == [401] * 5 + [200]
    assert {r["ip"] for r in found} == {customer["home_ip"]} and {r["ua"] for r in found} == {customer["user_agent"]}
    browsing = [r for r in found if r["path"] != "/v1/auth/login"]
    assert len(browsing) >= 4 and {_sub(r["auth"]) for r in browsing} == {str(customer["customer_id"])}
    assert _span(found) <= timedelta(minutes=10)


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0])
def test_builders_are_deterministic_per_seed(scale: float) -> None:
    pop = _population(scale)
    for i, build in enumerate(BUILDERS):
        meta, skel = build(pop, np.random.default_rng([11, 100 + i]))
        again = build(pop, np.random.default_rng([11, 100 + i]))
        other = build(pop, np.random.default_rng([12, 100 + i]))
        assert again[0] == meta and again[1].equals(skel), meta.name
        assert not other[1].equals(skel), meta.name
        render(skel, pop, np.random.default_rng(0))  # renders at every scale

"""The posture weaknesses planted in the demo, their look-alikes, labels and scoring."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import polars as pl
import pytest
import yaml

from apisight.demo import DemoManifest, bank, tokens
from apisight.demo.endpoints import ENDPOINTS
from apisight.demo.posture import read_labels
from apisight.demo.posture.labels import ANY, CLEAN, FINDING, PostureLabel, endpoint_shape
from apisight.demo.posture.retail import FORGER_IP, LOAD_BALANCERS, RECONCILIATION_HOSTS
from apisight.demo.posture.scoring import describe, score
from apisight.posture.checks import names as check_names


@pytest.fixture(scope="module")
def labels(demo: DemoManifest) -> list[PostureLabel]:
    assert demo.posture_labels is not None
    return read_labels(demo.posture_labels)


def _template(entry: dict) -> str:
    """The catalogue template of a HAR entry (the demo's own paths, matched by shape)."""
    method, path = entry["request"]["method"], urlsplit(entry["request"]["url"]).path
    for ep in ENDPOINTS:
        if ep.host == bank.RETAIL_HOST and ep.method == method and _matches(ep.path, path):
            return ep.path
    return path


def _matches(template: str, path: str) -> bool:
    t, p = template.split("/"), path.split("/")
    return len(t) == len(p) and all(a == b or a.startswith("{") for a, b in zip(t, p, strict=True))


def _header(entry: dict, side: str, name: str) -> str | None:
    return next((h["value"] for h in entry[side]["headers"] if h["name"].lower() == name.lower()), None)


def test_every_check_has_a_planted_weakness_and_a_clean_look_alike(labels: list[PostureLabel]) -> None:
    by_check: dict[str, Counter] = {}
    for label in labels:
        by_check.setdefault(label.check, Counter())[label.expected] += 1
    assert set(by_check) == set(check_names())
    for check, counts in by_check.items():
        assert counts[FINDING] >= 1 and counts[CLEAN] >= 1, check
    assert len({label.key() for label in labels}) == len(labels)  # one expectation per check and endpoint


def test_labels_name_endpoints_of_the_catalogue(labels: list[PostureLabel]) -> None:
    known = {(e.host, e.method, endpoint_shape(e.path)) for e in ENDPOINTS}
    for label in labels:
        if label.method != ANY:
            assert (label.host, label.method, endpoint_shape(label.template)) in known, label
        assert label.why


def test_plain_http_only_on_the_planted_endpoint_and_the_health_checks(harl_entries: list[dict]) -> None:
    plain = [e for e in harl_entries if e["request"]["url"].startswith("http://")]
    assert {_template(e) for e in plain} == {"/v1/app-config", "/healthz"}
    assert {e["_clientIP"] for e in plain if _template(e) == "/healthz"} == set(LOAD_BALANCERS)
    assert all(_header(e, "request", "Authorization") for e in plain if _template(e) == "/v1/app-config")


def test_cache_control_is_no_store_except_on_the_planted_card_endpoint(harl_entries: list[dict]) -> None:
    seen = {(_template(e), _header(e, "response", "Cache-Control")) for e in harl_entries}
    assert {t for t, cc in seen if cc != "no-store"} == {"/v2/cards/{card_id}"}
    assert ("/v2/cards/{card_id}", "private, max-age=300") in seen


def test_cors_wildcard_with_credentials_only_on_notifications(harl_entries: list[dict]) -> None:
    allowed = Counter()
    for e in harl_entries:
        acao = _header(e, "response", "Access-Control-Allow-Origin")
        if acao is None:
            assert _header(e, "request", "Origin") is None or _template(e) in ("/healthz", "/v1/app-config")
            continue
        assert _header(e, "request", "Origin") == bank.WEB_ORIGIN
        assert _header(e, "response", "Access-Control-Allow-Credentials") == "true"
        allowed[(_template(e), acao)] += 1
    assert {t for t, acao in allowed if acao == "*"} == {"/v2/notifications"}
    assert allowed[("/v2/accounts", bank.WEB_ORIGIN)] > 0


def test_tokens_are_signed_and_current_except_where_planted(harl_entries: list[dict]) -> None:
    odd: Counter = Counter()
    for e in harl_entries:
        auth = _header(e, "request", "Authorization")
        if not auth or not auth.startswith("Bearer eyJ"):
            continue
        token = auth.removeprefix("Bearer ")
        if jwt.get_unverified_header(token)["alg"] == "none":
            assert e["_clientIP"] == FORGER_IP
            odd[(_template(e), "alg_none")] += 1
            continue
        claims = jwt.decode(token, tokens.public_key(), algorithms=["EdDSA"], options={"verify_exp": False})
        at = datetime.fromisoformat(e["startedDateTime"]).timestamp()
        if claims["exp"] < at:
            odd[(_template(e), f"expired_{e['response']['status']}")] += 1
        assert claims["exp"] - at <= 86_400  # never more than a day left
    assert set(odd) == {("/v2/rewards", "alg_none"), ("/v2/rewards/offers", "expired_200"),
                        ("/v2/savings-goals", "expired_401")}


def test_url_secrets_and_values_only_where_planted(harl_entries: list[dict]) -> None:
    params = Counter()
    for e in harl_entries:
        for name in parse_qs(urlsplit(e["request"]["url"]).query):
            params[(_template(e), name)] += 1
    assert {t for t, n in params if n == "access_token"} == {"/v2/statements/{statement_id}/download"}
    assert {t for t, n in params if n == "signature"} == {"/v2/statements/{statement_id}/file"}
    cards = [parse_qs(urlsplit(e["request"]["url"]).query)["card_number"][0] for e in harl_entries
             if _template(e) == "/v2/card-lookup"]
    assert cards and all("******" in c for c in cards)


def test_verbose_errors_only_on_the_planted_endpoint(harl_entries: list[dict]) -> None:
    traced = {_template(e) for e in harl_entries
              if e["response"]["status"] >= 500 and "Traceback" in e["response"]["content"].get("text", "")}
    assert traced == {"/v2/standing-orders"}
    assert any(e["request"]["method"] == "GET" and e["response"]["status"] == 500 for e in harl_entries
               if _template(e) == "/v2/standing-orders")


def test_server_banners_only_on_the_locators(harl_entries: list[dict]) -> None:
    seen = {(_template(e), _header(e, "response", "Server"), _header(e, "response", "X-Powered-By"))
            for e in harl_entries if _header(e, "response", "Server") or _header(e, "response", "X-Powered-By")}
    assert seen == {("/v2/branches", "nginx/1.18.0 (Ubuntu)", "Express"), ("/v2/atms", "nginx", None)}


def test_basic_auth_only_on_accounting_internal_for_reconciliation(harl_entries: list[dict]) -> None:
    basic = [e for e in harl_entries if (_header(e, "request", "Authorization") or "").startswith("Basic ")]
    assert {_template(e) for e in basic} == {"/v2/accounting/export", "/v2/accounting/reconciliation"}
    assert {e["_clientIP"] for e in basic if _template(e) == "/v2/accounting/reconciliation"} == set(
        RECONCILIATION_HOSTS)
    assert not any(e["_clientIP"].startswith("10.") for e in basic if _template(e) == "/v2/accounting/export")


def test_requests_without_a_token_on_bearer_endpoints_only_where_planted(harl_entries: list[dict]) -> None:
    anonymous = Counter((_template(e), e["response"]["status"]) for e in harl_entries
                        if _template(e) in ("/v2/direct-debits", "/v2/scheduled-payments")
                        and not _header(e, "request", "Authorization"))
    assert set(anonymous) == {("/v2/direct-debits", 200), ("/v2/scheduled-payments", 401)}


def test_spec_documents_less_than_the_payee_detail_returns(demo: DemoManifest) -> None:
    retail = yaml.safe_load(demo.specs[0].read_text())
    schema = retail["paths"]["/v2/payees/{payee_id}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert set(schema["schema"]["properties"]) == {"payee_id", "name", "iban_last4"}
    assert retail["paths"]["/v2/receipts/{receipt_id}"]["get"]["security"] == []
    assert "/actuator/env" not in yaml.safe_load(demo.specs[1].read_text())["paths"]


def _findings(*rows: tuple[str, str, str, str]) -> pl.DataFrame:
    return pl.DataFrame([{"check": c, "host": h, "method": m, "path": p, "severity": "high"} for c, h, m, p in rows])


def test_score_matches_by_shape_and_reports_missed_flagged_unlabelled() -> None:
    labels = [
        PostureLabel("bola_prone_ids", "h", "GET", "/a/{account_id}", FINDING, "planted"),
        PostureLabel("bola_prone_ids", "h", "GET", "/b/{id}", FINDING, "planted, missed"),
        PostureLabel("bola_prone_ids", "h", "GET", "/c/{id}", CLEAN, "look-alike"),
        PostureLabel("token_shared_by_many_clients", "h", ANY, ANY, CLEAN, "fleet"),
    ]
    result = score(_findings(("bola_prone_ids", "h", "GET", "/a/{a_id}"), ("bola_prone_ids", "h", "GET", "/c/{x}"),
                             ("bola_prone_ids", "h", "GET", "/d/{x}"),
                             ("token_shared_by_many_clients", "h", "*", "*")), labels)
    bola = result["checks"]["bola_prone_ids"]
    assert (bola["planted"], bola["found"], bola["clean"]) == (2, 1, 1)
    assert [m["path"] for m in bola["missed"]] == ["/b/{id}"]
    assert [f["path"] for f in bola["flagged"]] == ["/c/{id}"] and bola["flagged"][0]["severity"] == "high"
    assert [u["path"] for u in bola["unlabelled"]] == ["/d/{x}"]
    assert describe(result["checks"]["token_shared_by_many_clients"]["flagged"][0]).startswith("h (whole host)")
    assert (result["planted"], result["found"], result["flagged"], result["unlabelled"]) == (2, 1, 2, 1)
    assert score(pl.DataFrame(), labels)["found"] == 0


def test_labels_round_trip(tmp_path: Path, labels: list[PostureLabel]) -> None:
    from apisight.demo.posture import write_labels

    assert read_labels(write_labels(tmp_path / "p.jsonl", labels)) == labels

import base64

import jwt
import orjson
import polars as pl
import pytest

from apisight.config import Partner, Settings
from apisight.events import EVENT_SCHEMA
from apisight.fingerprints import Fingerprinter
from apisight.normalize import Normalizer

FP = Fingerprinter(b"0123456789abcdef0123456789abcdef")
TOKEN = jwt.encode({"sub": "cust-7", "client_id": "acme-prod"}, "k" * 32, algorithm="HS256")
API_KEY = "pk_live_51Hs8dKJl2k3j4h5g6f7d8s9a"
PASSWORD = "correct horse battery staple"


def raw(**over):
    row = {
        "ts": None,
        "target": "https://API.Example.com:443/v1/login?api_key=" + API_KEY + "&page=2",
        "method": "post",
        "peer_ip": "203.0.113.9:55123",
        "status": 200,
        "request_headers": orjson.dumps({
            "authorization": "Bearer " + TOKEN, "cookie": "sid=abc", "x-api-key": API_KEY, "accept": "*/*",
        }).decode(),
        "request_body": orjson.dumps({"username": "ann", "password": PASSWORD, "card": "4111 1111 1111 1111"}).decode(),
    }
    row.update(over)
    return pl.DataFrame([row])


def run(frame, settings=None):
    return Normalizer(settings or Settings(), FP)(frame, source="harl", source_file="f", first_id="r-1").to_dicts()[0]


def test_canonical_schema_and_url_split():
    n = Normalizer(Settings(), FP)(raw(), source="harl", source_file="f", first_id="r-1")
    assert n.schema == pl.Schema(EVENT_SCHEMA)
    e = n.to_dicts()[0]
    assert (e["scheme"], e["host"], e["path"], e["method"]) == ("https", "api.example.com", "/v1/login", "POST")
    assert e["peer_ip"] == e["client_ip"] == "203.0.113.9"
    assert e["event_id"] == "r-1-0"


def test_secrets_never_survive_normalisation():
    e = run(raw())
    stored = orjson.dumps(e, default=str).decode()
    for secret in (TOKEN, API_KEY, PASSWORD, "sid=abc", "4111 1111 1111 1111"):
        assert secret not in stored
    assert e["principal"] == "cust-7"
    assert e["jwt_client_id"] == "acme-prod"
    assert e["credential_fp"] == FP(TOKEN)
    assert e["api_key_id"] == "key_" + FP(API_KEY)[:12]
    assert e["query"] == "api_key=[redacted]&page=2"
    assert orjson.loads(e["request_headers"]) == {"accept": "*/*"}


def test_api_key_alone_is_the_auth_scheme_and_partner_by_key_id():
    frame = raw(request_headers=orjson.dumps({"x-api-key": API_KEY}).decode(), target="/v1/accounts")
    partner = Partner(name="acme", api_key_ids=["key_" + FP(API_KEY)[:12]])
    e = run(frame, Settings(partners=[partner]))
    assert (e["auth_scheme"], e["partner"]) == ("api_key", "acme")


def test_partner_by_network_and_client_id():
    settings = Settings(partners=[Partner(name="net", networks=["203.0.113.0/24"]),
                                  Partner(name="acme", client_ids=["acme-prod"])])
    assert run(raw(), settings)["partner"] == "acme"  # identity beats network
    assert run(raw(request_headers=None), settings)["partner"] == "net"


def test_no_headers_in_source_means_unknown_auth_not_none():
    assert run(raw(request_headers=None, target="/x"))["auth_scheme"] == "unknown"
    assert run(raw(request_headers="{}", target="/x"))["auth_scheme"] == "none"
    basic = "Basic " + base64.b64encode(b"bob:pw").decode()
    assert run(raw(request_headers=None, authorization=basic, target="/x"))["principal"] == "bob"


@pytest.mark.parametrize(
    ("policy", "expect_password", "expect_body"),
    [("keep", True, True), ("redact", False, True), ("drop", False, False)],
)
def test_body_policy(policy, expect_password, expect_body):
    settings = Settings.model_validate({"capture": {"body_policy": policy}})
    e = run(raw(), settings)
    assert (e["request_body"] is not None) == expect_body
    assert (PASSWORD in (e["request_body"] or "")) == expect_password


def test_bodies_are_capped():
    settings = Settings.model_validate({"capture": {"max_body_bytes": 10, "body_policy": "keep"}})
    assert len(run(raw(request_body="x" * 100), settings)["request_body"]) == 10


def test_trusted_proxy_setting_is_applied():
    settings = Settings.model_validate({"network": {"trusted_proxies": ["10.0.0.0/8"]}})
    e = run(raw(peer_ip="10.1.1.1", forwarded_for="198.51.100.4"), settings)
    assert (e["client_ip"], e["peer_ip"]) == ("198.51.100.4", "10.1.1.1")

"""Headers are scanned: PII in custom headers is found and masked; credential headers are not findings."""

from __future__ import annotations

import json

import orjson
import polars as pl
import pytest

from apisight.config import Settings
from apisight.fingerprints import Fingerprinter
from apisight.normalize.stage import CLIENT_CERT_HEADERS, credential_headers
from apisight.sensitive.stage import SensitiveStage

FP = Fingerprinter(b"0123456789abcdef0123456789abcdef")
EMAIL, SSN, IBAN, CARD = "ann.smith@example.com", "536-22-1234", "GB82WEST12345698765432", "4539 1488 0343 6467"
PHONE = "+447911123456"  # a valid UK mobile: without a hinting name, a number must be valid
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjdXN0LTEwNDIiLCJuYW1lIjoiQW5uIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
STRIPE = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"


def frame(request: dict | None, response: dict | None = None, referer: str | None = None) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "request_body": [None], "request_content_type": [None], "response_body": [None],
            "response_content_type": [None], "query": [None], "path": ["/v1/customers/1"],
            "request_headers": [orjson.dumps(request).decode() if request is not None else None],
            "response_headers": [orjson.dumps(response).decode() if response is not None else None],
            "referer": [referer],
        },
        schema_overrides={c: pl.String for c in ("request_body", "request_content_type", "response_body",
                                                 "response_content_type", "query", "referer")},
    )


@pytest.fixture(scope="module")
def stage() -> SensitiveStage:
    return SensitiveStage(FP, skip_headers=credential_headers(Settings().auth))


def run(stage: SensitiveStage, *args, **kwargs) -> tuple[dict, set[tuple[str, str, str]]]:
    out, findings = stage(frame(*args, **kwargs))
    return out.to_dicts()[0], {(f["direction"], f["type"], f["field"]) for f in findings.to_dicts()}


def test_pii_in_custom_headers_is_found_with_its_header_and_direction(stage):
    request = {"host": "api.example", "x-user-email": EMAIL, "x-customer-ssn": SSN, "x-account-iban": IBAN}
    response = {"content-type": "application/json", "location": f"/v1/customers?email={EMAIL}",
                "x-card": CARD, "x-contact": PHONE}
    stored, found = run(stage, request, response)
    assert found == {
        ("request", "email", "header:x-user-email"),
        ("request", "us_ssn", "header:x-customer-ssn"),
        ("request", "iban", "header:x-account-iban"),
        ("response", "email", "header:location"),
        ("response", "card_number", "header:x-card"),
        ("response", "phone", "header:x-contact"),
    }
    req, res = json.loads(stored["request_headers"]), json.loads(stored["response_headers"])  # still JSON
    assert req == {"host": "api.example", "x-user-email": "a***@example.com", "x-customer-ssn": "***-**-1234",
                   "x-account-iban": "GB** **** **** **** 5432"}
    assert res["location"] == "/v1/customers?email=a***@example.com"
    assert res["x-card"] == "4539 **** **** 6467" and res["content-type"] == "application/json"
    text = stored["request_headers"] + stored["response_headers"]
    assert not any(v in text for v in (EMAIL, SSN, IBAN, CARD, PHONE, PHONE[1:]))


@pytest.mark.parametrize(
    ("sent", "received"),
    [
        ({"authorization": f"Bearer {JWT}"}, None),
        ({"proxy-authorization": f"Bearer {JWT}"}, None),
        ({"cookie": f"session={JWT}; email={EMAIL}"}, None),
        (None, {"set-cookie": f"id={JWT}; Path=/; user={EMAIL}"}),
        ({"x-api-key": STRIPE}, None),
        ({"ocp-apim-subscription-key": STRIPE}, None),
        ({"x-auth-token": JWT}, None),  # auth.secret_headers
        ({"x-forwarded-client-cert": f'By=spiffe://a;Subject="CN=partner-a,emailAddress={EMAIL}"'}, None),
        ({"x-ssl-client-s-dn": f"emailAddress={EMAIL},CN=partner-a"}, None),
        ({"x-forwarded-for": "198.51.100.7, 203.0.113.9", "x-real-ip": "198.51.100.7"}, None),  # not reported
    ],
)
def test_credential_headers_give_no_findings(stage, sent, received):
    stored, found = run(stage, sent, received)
    assert found == set()
    for column, headers in (("request_headers", sent), ("response_headers", received)):
        if headers is not None:  # left for the normaliser, which fingerprints and drops them
            assert json.loads(stored[column]) == headers


def test_a_jwt_in_a_location_url_is_a_finding(stage):
    stored, found = run(stage, {"authorization": f"Bearer {JWT}"},
                        {"location": f"https://app.example/cb#access_token={JWT}&state=1"})
    assert found == {("response", "jwt", "header:location")}
    assert JWT not in stored["response_headers"] and JWT in stored["request_headers"]


def test_configured_credential_headers_are_skipped():
    settings = Settings.model_validate({"auth": {"api_key_headers": ["x-partner-key"], "secret_headers": ["x-sig"]}})
    names = credential_headers(settings.auth)
    assert {"x-partner-key", "x-sig", "authorization", "proxy-authorization", "cookie", "set-cookie"} <= set(names)
    assert set(CLIENT_CERT_HEADERS) <= set(names)
    configured = SensitiveStage(FP, skip_headers=names)
    _, found = run(configured, {"x-partner-key": STRIPE, "x-sig": JWT, "x-api-key": STRIPE})
    assert {field for _, _, field in found} == {"header:x-api-key"}  # no longer an API-key header


def test_url_encoded_header_values(stage):
    stored, found = run(stage, None, {"location": "/v1/c?email=ann.smith%40example.com&iban=GB82%20WEST%201234"
                                                  "%205698%207654%2032", "content-location": "/p/%2B447911123456"})
    assert found == {("response", "email", "header:location"), ("response", "iban", "header:location"),
                     ("response", "phone", "header:content-location")}
    res = json.loads(stored["response_headers"])
    assert res == {"location": "/v1/c?email=a***@example.com&iban=GB** **** **** **** 5432",
                   "content-location": "/p/+44 *******456"}


def test_plus_is_a_space_only_in_the_query_of_a_header_url(stage):
    iban = "DE89 3704 0044 0532 0130 00"
    stored, found = run(stage, {"accept": "application/problem+json", "referer": "https://w.example/a+b"},
                        {"location": "/v1/c?iban=" + iban.replace(" ", "+"), "x-path": "/GB82+WEST+1234+5698+7654+32"})
    assert found == {("response", "iban", "header:location")}
    assert json.loads(stored["response_headers"])["location"] == "/v1/c?iban=DE** **** **** **** 3000"
    assert json.loads(stored["request_headers"])["accept"] == "application/problem+json"


def test_referer_column_is_a_header_found_once(stage):
    url = f"https://shop.example/checkout?email={EMAIL.replace('@', '%40')}"
    # nginx keeps the referer in a column of its own; HAR and Kong also in the header map
    stored, found = run(stage, {"host": "a"}, None, referer=url)
    assert found == {("request", "email", "header:referer")}
    assert "%40example" not in stored["referer"] and "smith" not in stored["referer"]
    out, findings = stage(frame({"referer": url}, None, referer=url))
    assert findings.select("direction", "type", "field").rows() == [("request", "email", "header:referer")]
    stored = out.to_dicts()[0]
    assert "smith" not in stored["referer"] and "smith" not in stored["request_headers"]


def test_a_frame_without_header_columns(stage):
    f = frame(None).drop("request_headers", "response_headers", "referer")
    _, findings = stage(f.with_columns(pl.lit(f"e={EMAIL}").alias("query")))
    assert findings["field"].to_list() == ["$.e"]


def test_the_scanner_can_leave_types_out(stage):
    text = '{"x-forwarded-for":"198.51.100.7","x-user-email":"ann@example.com"}'
    assert set(stage.scanner.scan([text], fmt="headers")["type"]) == {"ip_address", "email"}
    assert stage.scanner.scan([text], fmt="headers", ignore_types=["ip_address"])["type"].to_list() == ["email"]

import base64
import functools
import json
import string

import jwt
import orjson
import polars as pl
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apisight.config import Partner, Settings
from apisight.events import EVENT_SCHEMA
from apisight.fingerprints import Fingerprinter
from apisight.normalize import Normalizer
from apisight.normalize.stage import credential_headers
from apisight.sensitive.stage import SensitiveStage

FP = Fingerprinter(b"0123456789abcdef0123456789abcdef")
TOKEN = jwt.encode({"sub": "cust-7", "client_id": "acme-prod"}, "k" * 32, algorithm="HS256")
API_KEY = "pk_live_51Hs8dKJl2k3j4h5g6f7d8s9a"
PASSWORD = "correct horse battery staple"


@functools.cache
def sensitive_stage() -> SensitiveStage:
    """The stage as the pipeline builds it for default settings (compiled once)."""
    return SensitiveStage(FP, skip_headers=credential_headers(Settings().auth))


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


def test_redaction_happens_before_the_cut():
    settings = Settings.model_validate({"capture": {"max_body_bytes": 30}})
    body = '{"note":"x","password":"SECRETTRUNCATEDBYTHECUT"}'
    stored = run(raw(request_body=body), settings)["request_body"]
    assert len(stored) == 30
    assert "SECRET" not in stored
    assert stored.startswith('{"note":"x","password":"[redac')


@pytest.mark.parametrize(
    "header",
    [
        *("x-auth-token", "x-access-token", "private-token", "x-csrf-token", "x-xsrf-token"),
        *("x-amz-security-token", "x-goog-iap-jwt-assertion", "proxy-authorization", "authorization"),
        *("cookie", "x-api-key", "ocp-apim-subscription-key", "x-session-token", "x-client-secret"),
    ],
)
def test_secret_request_and_response_headers_are_not_stored(header):
    headers = orjson.dumps({header: "SECRETVALUE1", "accept": "*/*"}).decode()
    e = run(raw(request_headers=headers, response_headers=headers.replace("accept", "vary")))
    assert orjson.loads(e["request_headers"]) == {"accept": "*/*"}
    assert orjson.loads(e["response_headers"]) == {"vary": "*/*"}


def test_secret_headers_are_configurable_and_the_fixed_ones_stay():
    settings = Settings.model_validate(
        {"auth": {"secret_headers": ["x-tenant-sig"], "api_key_headers": ["x-k"]}}
    )
    fixed = {"cookie": "c", "authorization": "Basic eDp5", "set-cookie": "d"}
    headers = {"x-tenant-sig": "a", "x-k": "b", "x-auth-token": "e", "accept": "*/*", **fixed}
    e = run(raw(request_headers=orjson.dumps(headers).decode()), settings)
    assert orjson.loads(e["request_headers"]) == {"accept": "*/*"}  # x-auth-token: its name says token


def test_header_maps_with_spaces_and_capitals_lose_their_secrets():
    headers = '{"Accept": "*/*", "Cookie": "sid=abc", "X-Auth-Token" : "tok", "set-cookie": ["a=1", "b=2"]}'
    e = run(raw(request_headers=headers, response_headers=headers))
    assert orjson.loads(e["request_headers"]) == {"Accept": "*/*"}
    assert orjson.loads(e["response_headers"]) == {"Accept": "*/*"}


def test_referer_and_location_lose_oauth_codes_and_tokens():
    location = "https://app.example/cb?code=AUTHCODE2&state=s-2#access_token=TOK2"
    e = run(
        raw(
            referer="https://idp.example/cb?code=AUTHCODE1&state=s-1#access_token=TOK1&token_type=bearer",
            response_headers=orjson.dumps({"location": location}).decode(),
        )
    )
    assert e["referer"] == (
        "https://idp.example/cb?code=[redacted]&state=s-1#access_token=[redacted]&token_type=bearer"
    )
    assert orjson.loads(e["response_headers"]) == {
        "location": "https://app.example/cb?code=[redacted]&state=s-2#access_token=[redacted]"
    }


def test_query_and_matrix_params_lose_secrets_named_anywhere():
    e = run(raw(target="/app;jsessionid=SESS1/x?newPassword=p1&code=c1&state=ok&page=2"))
    assert e["path"] == "/app;jsessionid=[redacted]/x"
    assert e["query"] == "newPassword=[redacted]&code=[redacted]&state=ok&page=2"


def test_remote_user_that_is_a_key_is_fingerprinted_not_stored():
    e = run(raw(request_headers=None, remote_user=API_KEY, target="/x"))
    assert (e["auth_scheme"], e["principal"], e["credential_fp"]) == ("basic", None, FP(API_KEY))
    assert run(raw(request_headers=None, remote_user="bob", target="/x"))["principal"] == "bob"


def test_stripe_style_basic_leaves_no_principal():
    stripe = "Basic " + base64.b64encode(f"sk_live_{API_KEY}:".encode()).decode()
    e = run(raw(request_headers=None, authorization=stripe, target="/x"))
    assert (e["auth_scheme"], e["principal"]) == ("basic", None)
    assert API_KEY not in orjson.dumps(e, default=str).decode()


SECRET_FIELDS = [
    *("password", "newPassword", "user-password", "passwd", "accessToken", "access_token", "refreshToken"),
    *("clientSecret", "client_secret", "apiKey", "x-api-key", "privateKey", "sessionId", "session_id"),
    *("token", "pin", "cvv", "otp"),
]
TOKENS = st.text(alphabet=string.ascii_letters + string.digits, min_size=24, max_size=24)


@hypothesis_settings(max_examples=150, deadline=None)
@given(
    token=TOKENS,
    field=st.sampled_from(SECRET_FIELDS),
    param=st.sampled_from([*Settings().auth.secret_params(), *SECRET_FIELDS]),
    header=st.sampled_from(Settings().auth.dropped_headers()),
    header_case=st.sampled_from([str.lower, str.title, str.upper]),
    in_fragment=st.booleans(),
    padding=st.integers(0, 60),
    max_body=st.sampled_from([16, 40, 64, 65536]),
    scan=st.booleans(),
)
def test_planted_secrets_never_reach_stored_columns(
    token, field, param, header, header_case, in_fragment, padding, max_body, scan
):
    body = orjson.dumps({"note": "-" * padding, field: token, "after": 1}).decode()
    sep = "#" if in_fragment else "?"
    frame = raw(
        target=f"/v1/x?page=1&{param}={token}&b=2",
        referer=f"https://site.example/p{sep}a=1&{param}={token}",
        request_headers=orjson.dumps({header_case(header): token, "accept": "*/*"}).decode(),
        response_headers=orjson.dumps(
            {header_case(header): token, "location": f"/cb{sep}{param}={token}"}
        ).decode(),
        request_body=body,
        response_body=f"x=1&{field}={token}",
    )
    config = Settings.model_validate({"capture": {"max_body_bytes": max_body}})
    out = Normalizer(config, FP, sensitive_stage() if scan else None)(
        frame, source="harl", source_file="f", first_id="r-1"
    )
    for column, dtype in out.schema.items():
        if dtype == pl.String:
            for value in out[column].drop_nulls():
                assert token not in value, (column, value)
                assert token[:12] not in value and token[12:] not in value, (column, value)


@pytest.mark.parametrize(
    ("header", "value", "principal"),
    [
        ("x-forwarded-client-cert", 'By=spiffe://bank/ns/gw;Hash=ab12;Subject="CN=partner-acme,O=Acme Ltd";URI=', "partner-acme"),
        ("x-ssl-client-s-dn", "emailAddress=ops@acme.example,CN=acme-payments,O=Acme,C=GB", "acme-payments"),
        ("x-amzn-mtls-clientcert", "-----BEGIN%20CERTIFICATE-----%0AMIIB...", None),
    ],
)
def test_client_certificate_headers_mean_mtls(header, value, principal):
    e = run(raw(request_headers=orjson.dumps({header: value}).decode(), target="/v1/x"))
    assert (e["auth_scheme"], e["principal"]) == ("mtls", principal)


def test_headers_are_scanned_before_storage_and_credentials_are_not_findings():
    email, iban = "ann.smith@example.com", "GB82WEST12345698765432"
    frame = raw(
        request_headers=orjson.dumps({
            "authorization": "Bearer " + TOKEN, "cookie": f"sid=abc; u={email}", "x-api-key": API_KEY,
            "x-user-email": email, "x-customer-ssn": "536-22-1234", "accept": "*/*",
        }).decode(),
        response_headers=orjson.dumps({
            "set-cookie": f"sid={TOKEN}", "location": f"/v1/accounts?iban={iban[:4]}%20{iban[4:]}&t={TOKEN}",
        }).decode(),
        referer=f"https://web.example/p?email={email.replace('@', '%40')}",
    )
    events, findings = Normalizer(Settings(), FP, sensitive_stage()).normalize(
        frame, source="harl", source_file="f", first_id="r-1"
    )
    found = sorted(findings.filter(pl.col("field").str.starts_with("header")).select("direction", "type", "field").rows())
    assert found == [
        ("request", "email", "header:referer"),
        ("request", "email", "header:x-user-email"),
        ("request", "us_ssn", "header:x-customer-ssn"),
        ("response", "iban", "header:location"),
        ("response", "jwt", "header:location"),  # a token in a URL is a finding; in Authorization it is not
    ]
    e = events.to_dicts()[0]
    request, response = json.loads(e["request_headers"]), json.loads(e["response_headers"])
    assert request == {"x-user-email": "a***@example.com", "accept": "*/*"}  # x-customer-ssn: a secret name
    assert set(response) == {"location"}
    assert e["auth_scheme"] == "bearer" and e["principal"] == "cust-7"  # credentials were read first
    stored = orjson.dumps(e, default=str).decode()
    for value in (email, email.replace("@", "%40"), iban, "GB82%20WEST", TOKEN, API_KEY, "sid=abc", "536-22-1234"):
        assert value not in stored

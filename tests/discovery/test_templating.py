"""Path templating: segment kinds, templates, names, state, cost, and a small real-spec eval."""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path

import polars as pl
import pytest

from apisight.discovery.naming import dedupe, is_plural, param_name, singular
from apisight.discovery.segments import classify, classify_segments
from apisight.discovery.templating import Templater

# -- segment classification -------------------------------------------------------------

SEGMENTS = [
    ("8812", "int"),
    ("0", "int"),
    ("3fa85f64-5717-4562-b3fc-2c963f66afa6", "uuid"),
    ("3FA85F6457174562B3FC2C963F66AFA6", "uuid"),
    ("01ARZ3NDEKTSV4RRFFQ69G5FAV", "ulid"),
    ("507f1f77bcf86cd799439011", "hex"),  # Mongo ObjectId
    ("da39a3ee5e6b4b0d3255bfef95601890afd80709", "hex"),  # git sha
    ("cus_9s8d7f6g5h4j", "prefixed"),
    ("acct_1Nv0FGQ9RKHgCVdK", "prefixed"),
    ("pi_3MtwBwLkdIwHu7ix28a3tqPa", "prefixed"),
    ("cs_test_a1B2c3D4e5F6g7H8", "prefixed"),
    ("tiSTSUzh4BwtvYSLWPsqu9", "token"),  # shortuuid
    ("eyJhbGciOiJIUzI1NiJ9x", "token"),  # base64-ish
    ("k9x2m4p7q1", "token"),
    ("a1b2c3d4e5", "hex"),
    ("2023-10-16", "date"),
    ("2024-02-29T10:15:00Z", "date"),
    ("alice@example.com", "email"),
    ("alice%40example.com", "email"),
    ("+14155552671", "phone"),
    ("4111111111111111", "card"),  # passes Luhn
    ("4111111111111112", "int"),  # fails Luhn: just a number
    ("v1", "version"),
    ("v2beta", "version"),
    ("v4.0", "version"),
    ("openapi.json", "file"),
    ("swagger.yaml", "file"),
    ("accounts", "word"),
    ("me", "word"),
    ("by-email", "word"),
    ("cash_balance_transactions", "word"),
    ("coffee-corner-ltd", "word"),
    ("sha256", "word"),
    ("utf8mb4", "word"),
    ("getAccountTransactions", "word"),
    ("", "empty"),
]


@pytest.mark.parametrize(("segment", "kind"), SEGMENTS)
def test_segment_kind(segment: str, kind: str) -> None:
    assert classify(segment) == kind


def test_vectorised_classification_agrees_with_scalar() -> None:
    kinds = classify_segments(pl.Series([s for s, _ in SEGMENTS]))
    assert kinds == {s: k for s, k in SEGMENTS}


# -- naming -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "single"),
    [
        ("accounts", "account"),
        ("categories", "category"),
        ("addresses", "address"),
        ("people", "person"),
        ("statuses", "status"),
        ("direct-debits", "direct_debit"),
        ("status", "status"),
        ("DirectDebits", "direct_debit"),
    ],
)
def test_singular(word: str, single: str) -> None:
    assert singular(word) == single


def test_names_and_plural() -> None:
    assert param_name("customers", "prefixed") == "customer_id"
    assert param_name("merchants", "slug") == "merchant"
    assert param_name("anything", "date") == "date"
    assert param_name(None, "int") == "id"
    assert is_plural("users") and is_plural("categories") and not is_plural("status")
    assert dedupe(["id", "id", "user", "id"]) == ["id", "id_2", "user", "id_3"]


# -- templates ------------------------------------------------------------------------------


def _frame(paths: list[str] | list[tuple[str, str]], host: str = "api.example") -> pl.DataFrame:
    rows = [(host, *p) if isinstance(p, tuple) else (host, "GET", p) for p in paths]
    return pl.DataFrame(rows, schema=["host", "method", "path"], orient="row").with_columns(
        count=pl.lit(1, dtype=pl.Int64)
    )


def _templates(paths: list, **kwargs) -> dict[str, str]:
    out = Templater(**kwargs).assign(_frame(paths))
    return dict(zip(out["path"], out["template"]))


def _ids(n: int, make) -> list[str]:
    return [make(i) for i in range(n)]


USERS = [
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "oscar",
]

TEMPLATING = [
    (  # numeric ids, nested path
        ["/v1/accounts/8812/transactions", "/v1/accounts/9913/transactions"],
        {"/v1/accounts/8812/transactions": "/v1/accounts/{account_id}/transactions"},
    ),
    (
        ["/orders/3fa85f64-5717-4562-b3fc-2c963f66afa6", "/orders/0b6e5c9a-1111-4222-8333-444455556666"],
        {"/orders/3fa85f64-5717-4562-b3fc-2c963f66afa6": "/orders/{order_id}"},
    ),
    (["/events/01ARZ3NDEKTSV4RRFFQ69G5FAV"], {"/events/01ARZ3NDEKTSV4RRFFQ69G5FAV": "/events/{event_id}"}),
    (["/docs/507f1f77bcf86cd799439011"], {"/docs/507f1f77bcf86cd799439011": "/docs/{doc_id}"}),
    (
        ["/v1/customers/cus_9s8d7f6g5h4j/sources", "/v1/customers/search"],
        {
            "/v1/customers/cus_9s8d7f6g5h4j/sources": "/v1/customers/{customer_id}/sources",
            "/v1/customers/search": "/v1/customers/search",
        },
    ),
    (["/sessions/tiSTSUzh4BwtvYSLWPsqu9"], {"/sessions/tiSTSUzh4BwtvYSLWPsqu9": "/sessions/{session_id}"}),
    (["/reports/2024-01-31"], {"/reports/2024-01-31": "/reports/{date}"}),
    (  # a date where versions sit is a version
        ["/2023-10-16/charges", "/api/2023-10-16/charges"],
        {"/2023-10-16/charges": "/2023-10-16/charges", "/api/2023-10-16/charges": "/api/2023-10-16/charges"},
    ),
    (["/users/by-email/alice@example.com"], {"/users/by-email/alice@example.com": "/users/by-email/{email}"}),
    (["/cards/4111111111111111/limits"], {"/cards/4111111111111111/limits": "/cards/{card_number}/limits"}),
    (["/contacts/+14155552671"], {"/contacts/+14155552671": "/contacts/{phone}"}),
    (  # versions, files and words stay literal
        ["/v2beta/openapi.json", "/api/v1/health", "/open-banking/v4.0/aisp/accounts"],
        {
            "/v2beta/openapi.json": "/v2beta/openapi.json",
            "/api/v1/health": "/api/v1/health",
            "/open-banking/v4.0/aisp/accounts": "/open-banking/v4.0/aisp/accounts",
        },
    ),
    (  # literal siblings of an id stay literal
        ["/accounts/me", "/accounts/summary", "/accounts/12", "/accounts/13"],
        {
            "/accounts/me": "/accounts/me",
            "/accounts/summary": "/accounts/summary",
            "/accounts/12": "/accounts/{account_id}",
        },
    ),
    (  # nested ids get their own names
        ["/a/1/b/2", "/a/3/b/4"],
        {"/a/1/b/2": "/a/{a_id}/b/{b_id}"},
    ),
    (  # an id after an id is {id}; repeated names are disambiguated
        ["/things/1/2", "/things/3/4"],
        {"/things/1/2": "/things/{thing_id}/{id}"},
    ),
]


@pytest.mark.parametrize(("paths", "expected"), TEMPLATING)
def test_templates(paths: list[str], expected: dict[str, str]) -> None:
    got = _templates(paths)
    for path, template in expected.items():
        assert got[path] == template


@pytest.mark.parametrize("paths", [["users/456", "/users/123", "/users/456"], ["/users/123", "users/456"]])
def test_a_relative_path_is_decided_apart_from_an_absolute_one_of_the_same_shape(paths: list[str]) -> None:
    got = _templates(paths)  # (a target without its leading slash: a client or log bug)
    assert got["/users/123"] == "/users/{user_id}" and got["users/456"] == "users/456"


def test_slugs_by_cardinality_with_literal_siblings_kept() -> None:
    paths = [f"/users/{u}" for u in USERS] + ["/users/me", "/users/search", "/users/_debug"]
    paths += [f"/users/{u}/email" for u in USERS[:3]]
    got = _templates(paths)
    assert got["/users/alice"] == "/users/{user}"
    assert got["/users/bob/email"] == "/users/{user}/email"
    assert {got[p] for p in ("/users/me", "/users/search", "/users/_debug")} == {
        "/users/me",
        "/users/search",
        "/users/_debug",
    }


def test_few_distinct_slugs_stay_literal() -> None:
    got = _templates([f"/merchants/{m}" for m in ("coffee-corner-ltd", "bike-shop", "deli")])
    assert got["/merchants/deli"] == "/merchants/deli"


def test_slug_threshold_is_min_distinct() -> None:
    merchants = [f"/merchants/{m}-ltd" for m in USERS[:5]]
    assert _templates(merchants, min_distinct=5)["/merchants/alice-ltd"] == "/merchants/{merchant}"
    assert _templates(merchants, min_distinct=6)["/merchants/alice-ltd"] == "/merchants/alice-ltd"


def test_many_sub_resources_after_an_id_stay_literal() -> None:
    actions = [
        "accept",
        "cancel",
        "draft",
        "finalize",
        "line_items",
        "lines",
        "pdf",
        "preview_invoices",
        "reestimate",
        "lock",
    ]
    got = _templates([f"/v1/quotes/qt_{i}A9z8Y7x6W5/{a}" for i, a in enumerate(actions)])
    assert got["/v1/quotes/qt_0A9z8Y7x6W5/accept"] == "/v1/quotes/{quote_id}/accept"
    assert len(set(got.values())) == len(actions)


def test_top_level_collections_stay_literal() -> None:
    resources = [
        "customers",
        "charges",
        "refunds",
        "invoices",
        "products",
        "prices",
        "payouts",
        "transfers",
        "coupons",
        "disputes",
    ]
    paths = [f"/v1/{r}" for r in resources] + [
        f"/v1/{r}/{r[:3]}_{i}Ab9Cd8Ef7" for i, r in enumerate(resources)
    ]
    got = _templates(paths)
    assert got["/v1/customers"] == "/v1/customers"
    assert got["/v1/charges/cha_1Ab9Cd8Ef7"] == "/v1/charges/{charge_id}"


def test_owner_repo_after_a_parameter() -> None:
    owners = USERS
    repos = [f"repo-{c}" for c in "abcdefghijk"]
    subs = ["issues", "pulls", "branches", "tags"]
    rng = random.Random(1)
    paths = [f"/repos/{o}/{rng.choice(repos)}/{rng.choice(subs)}" for o in owners for _ in range(4)]
    paths += [f"/repos/{o}/{r}" for o, r in zip(owners, repos)]
    got = _templates(paths)
    assert set(got.values()) == {"/repos/{repo}/{id}"} | {f"/repos/{{repo}}/{{id}}/{s}" for s in subs}


def test_methods_and_hosts_are_kept_apart() -> None:
    frame = pl.concat(
        [
            _frame([("GET", "/orders/1"), ("DELETE", "/orders/2")], host="a"),
            _frame([("GET", "/orders/x")], host="b"),
        ]
    )
    out = Templater().assign(frame)
    assert out.select("host", "method", "template").rows() == [
        ("a", "GET", "/orders/{order_id}"),
        ("a", "DELETE", "/orders/{order_id}"),
        ("b", "GET", "/orders/x"),
    ]
    assert out["params"].to_list() == [["order_id"], ["order_id"], []]


def test_trailing_slash_root_and_non_paths() -> None:
    got = _templates(["/", "/workshop/api/mechanic/", "*"])
    assert got == {"/": "/", "/workshop/api/mechanic/": "/workshop/api/mechanic/", "*": "*"}


# -- stability and state ------------------------------------------------------------------------


def _sample_paths() -> list[tuple[str, str]]:
    paths = [("GET", f"/v1/accounts/{n}/transactions") for n in (11, 22, 33)]
    paths += [("GET", f"/users/{u}") for u in USERS] + [("GET", "/users/me")]
    paths += [("DELETE", f"/users/{u}/sessions/{i}") for i, u in enumerate(USERS[:4])]
    paths += [("GET", f"/things/{i}/{i + 1}") for i in range(3)]
    return paths


def test_names_do_not_depend_on_input_order() -> None:
    paths = _sample_paths()
    base = Templater()
    first = base.assign(_frame(paths)).sort("method", "path")
    for seed in range(5):
        shuffled = paths[:]
        random.Random(seed).shuffle(shuffled)
        t = Templater()
        again = t.assign(_frame(shuffled)).sort("method", "path")
        assert again.select("template", "params").rows() == first.select("template", "params").rows()
        assert t.to_dict() == base.to_dict()


def test_state_round_trip_keeps_templates_without_relearning() -> None:
    paths = _sample_paths()
    first = Templater()
    out1 = first.assign(_frame(paths))
    state = json.loads(json.dumps(first.to_dict()))
    resumed = Templater.from_dict(state)
    out2 = resumed.assign(_frame(paths))
    assert out2.select("template", "params").rows() == out1.select("template", "params").rows()
    assert resumed.stats["learned"] == 0 and resumed.stats["matched"] == len(paths)
    # new values of known templates are matched, not learned
    out3 = resumed.assign(_frame([("GET", "/v1/accounts/99/transactions"), ("GET", "/users/zoe")]))
    assert out3["template"].to_list() == ["/v1/accounts/{account_id}/transactions", "/users/{user}"]
    assert resumed.stats["learned"] == 0
    assert resumed.to_dict() == state


def test_known_id_parameter_does_not_swallow_new_words() -> None:
    t = Templater()
    t.assign(_frame(["/accounts/1", "/accounts/2"]))
    out = t.assign(_frame(["/accounts/summary", "/accounts/3"]))
    assert out["template"].to_list() == ["/accounts/summary", "/accounts/{account_id}"]


def test_new_evidence_generalises_a_literal_and_says_so() -> None:
    t = Templater()
    out = t.assign(_frame(["/users/alice", "/users/bob"]))
    assert out["template"].to_list() == ["/users/alice", "/users/bob"]
    out = t.assign(_frame([f"/users/{u}" for u in USERS[2:]] + ["/users/alice"]))
    assert set(out["template"]) == {"/users/{user}"}
    assert {(c["old"], c["new"]) for c in t.changes} == {
        ("/users/alice", "/users/{user}"),
        ("/users/bob", "/users/{user}"),
    }
    assert [tpl for _, _, tpl in t.templates()] == ["/users/{user}"]


def test_bad_state_is_refused() -> None:
    with pytest.raises(ValueError, match="version"):
        Templater({"version": 99})


# -- cost -----------------------------------------------------------------------------------------


def test_cost_follows_distinct_paths_not_requests() -> None:
    paths = _sample_paths()
    small = _frame(paths)
    huge = pl.concat([small.with_columns(count=pl.lit(10**9, dtype=pl.Int64))] * 50)  # repeated rows
    a, b = Templater(), Templater()
    out_a = a.assign(small)
    out_b = b.assign(huge)
    assert a.stats == b.stats  # same distinct work, whatever the volume
    assert b.stats["distinct_paths"] == len(paths) and b.stats["learned"] == len(paths)
    assert out_b.height == huge.height
    assert out_b.unique(["method", "path"]).sort("method", "path")["template"].to_list() == (
        out_a.sort("method", "path")["template"].to_list()
    )
    b.assign(huge)  # second batch: everything is known
    assert b.stats["learned"] == len(paths) and b.stats["matched"] == len(paths)


# -- quality on a real spec (small-scale version of bench/discovery_eval.py) ------------------------

_EVAL = Path(__file__).resolve().parents[2] / "bench" / "discovery_eval.py"


def _eval_module():
    spec = importlib.util.spec_from_file_location("discovery_eval", _EVAL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("name", "host", "style"),
    [
        ("crapi", "crapi.example", "crapi"),
        ("ukob_aisp", "ob.example", "ukob"),
        ("stripe", "s.example", "stripe"),
    ],
)
def test_real_spec_recovered_without_the_spec(name: str, host: str, style: str) -> None:
    result = _eval_module().evaluate(name, host, style, seed=1, vmin=4, vmax=10)
    assert result["f1"] >= 0.9, result
    assert result["over_merged"] == 0, result["over_merged_templates"]


def test_a_host_past_its_template_cap_counts_the_rest_under_one_bucket() -> None:
    """A scanner's random paths cannot grow the templates (and memory) without bound; a long
    tail the cap's sample covers still gets its template, and known templates still match."""
    rng = random.Random(3)
    def word() -> str:
        return "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=rng.randint(3, 12)))

    junk = ["/" + "/".join(word() for _ in range(rng.randint(2, 4))) for _ in range(500)]
    names = [f"/users/{''.join(rng.choices('abcdefghijklmnopqrstuvwxyz', k=7))}" for _ in range(300)]
    paths = [*junk, *names, "/v1/accounts/42", "/v1/accounts/43"]
    templater = Templater(max_templates=100)
    out = templater.assign(pl.DataFrame({"host": "api.example", "method": "GET", "path": paths}))
    got = dict(zip(out["path"], out["template"], strict=True))
    assert len(templater.templates("api.example")) <= 100
    assert {got[p] for p in names} == {"/users/{user}"}  # learned from its share of the sample
    unmapped = [p for p in junk if got[p] == "/{unmapped_path}"]
    assert len(unmapped) > 300 and templater.stats["unmapped"] == len(unmapped) + sum(
        got[p] == "/{unmapped_path}" for p in [*names, "/v1/accounts/42", "/v1/accounts/43"])
    again = Templater(templater.to_dict(), max_templates=100).assign(
        pl.DataFrame({"host": "api.example", "method": "GET", "path": ["/users/zed", "/qqqqqqqqqq/x"]}))
    assert again["template"].to_list()[0] == "/users/{user}"

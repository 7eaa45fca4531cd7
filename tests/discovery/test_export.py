"""OpenAPI 3.1 export of the observed inventory: hand-built endpoints rows, then the demo end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
import yaml
from openapi_spec_validator import validate

from apisight.discovery.export import OPENAPI_METHODS, build_openapi
from apisight.discovery.status import ENDPOINT_COLUMNS
from apisight.errors import InputError

API = "api.bank.example"
PARTNER = "partner.bank.example"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
T1 = datetime(2026, 3, 7, 18, 30, tzinfo=UTC)


def j(value: Any) -> str:
    return orjson.dumps(value).decode()


def param(name: str, kind: str, shape: str, required: bool = False, seen: int = 10) -> dict[str, Any]:
    return {"name": name, "in": "query", "type": kind, "required": required, "seen": seen,
            "distinct_values": 4, "example_shape": shape}


def row(host: str, method: str, path: str, count: int = 100, **kw: Any) -> dict[str, Any]:
    """One ``endpoints`` row with plausible defaults; JSON columns given as Python values."""
    base: dict[str, Any] = {c: None for c in ENDPOINT_COLUMNS}
    base.update(host=host, method=method, path=path, spec_status="shadow", count=count, first_seen=T0,
                last_seen=T1, status_codes={"200": count}, latency_p50=12.5, latency_p95=80.0,
                latency_p99=150.25, clients=7, auth={"bearer": count}, exposure={"external": count},
                params=[], drift=[], tags=[])
    base.update(kw)
    for c in ("tags", "status_codes", "auth", "exposure", "params", "request_content_types",
              "response_content_types", "request_schema", "response_schema", "drift"):
        if base[c] is not None:
            base[c] = j(base[c])
    return base


ACCOUNT_SCHEMA = {
    "$schema": "http://json-schema.org/schema#",
    "type": "object",
    "properties": {
        "id": {"type": "string"}, "balance": {"type": "number"},
        "meta": {"type": "object", "properties": {}, "required": []},
        "history": {"type": "array", "items": {"type": "object", "properties": {"at": {"type": "string"}},
                                               "required": ["at"]}},
    },
    "required": ["id", "balance"],
}
TRANSFER_SCHEMA = {"type": "object", "properties": {"amount": {"type": "integer"}, "to": {"type": "string"}},
                   "required": ["to", "amount"]}


def rows() -> list[dict[str, Any]]:
    return [
        row(API, "GET", "/v2/accounts/{account_id}", 903, spec_status="documented", operation_id="getAccount",
            tags=["accounts"], deprecated=False, owner="team-ledger", api_version="v2",
            status_codes={"200": 812, "403": 88, "404": 3}, auth={"bearer": 900, "none": 3},
            params=[param("expand", "string", "xxxxxxx"), param("limit", "integer", "99", required=True),
                    param("include_closed", "boolean", "xxxx"), param("since", "date", "9999-99-99"),
                    param("rate", "number", "9.99")],
            response_content_types={"application/json": 903}, response_schema=ACCOUNT_SCHEMA,
            drift=[{"kind": "undocumented_status", "detail": "403"}]),
        row(API, "POST", "/v2/accounts/{account_id}/transfers", 40, spec_status="documented",
            operation_id="createTransfer", tags=["payments", "accounts"], status_codes={"201": 38, "422": 2},
            params=[param("idempotency_key", "uuid", "99x99999-xx99-999x-99x9-xxxx9xx99x99", required=True)],
            request_content_types={"application/json": 40}, request_schema=TRANSFER_SCHEMA,
            response_content_types={"application/json": 40}, response_schema={"type": "object"}),
        row(API, "GET", "/v1/accounts/{account_id}", 55, spec_status="zombie", operation_id="getAccountV1",
            deprecated=True, tags=["accounts"]),
        row(API, "DELETE", "/v2/cards/{card_id}", 0, spec_status="unused", operation_id="deleteCard",
            first_seen=None, last_seen=None, status_codes=None, auth=None, exposure=None, params=None),
        row(API, "GET", "/healthz", 300, auth={"none": 300}, exposure={"internal": 300},
            response_content_types={"text/plain": 300}),
        row(API, "DELETE", "/v2/payees/{payee_id}", 2, status_codes={"204": 2}),
        row(PARTNER, "GET", "/partner/v1/merchants/{merchant_slug}", 420, auth={"api_key": 420},
            # a shape that was never masked (a hand-built or corrupted row) must still not leak
            params=[param("page", "integer", "12"), param("cursor", "string", "acct_8812alice")]),
        row(PARTNER, "GET", "/healthz", 50, auth={"none": 50}, exposure={"internal": 50},
            response_content_types={"text/plain": 50}),
        row(PARTNER, "PUT", "/v2/accounts/{id}", 9, auth={"basic": 9}, status_codes={"200": 9}),
    ]


def frame(data: list[dict[str, Any]]) -> pl.DataFrame:
    schema: dict[str, Any] = {c: pl.String for c in ENDPOINT_COLUMNS}
    schema.update(deprecated=pl.Boolean, count=pl.Int64, clients=pl.Int64, latency_p50=pl.Float64,
                  latency_p95=pl.Float64, latency_p99=pl.Float64,
                  first_seen=pl.Datetime("us", "UTC"), last_seen=pl.Datetime("us", "UTC"))
    return pl.DataFrame(data, schema=schema)


@pytest.fixture
def doc() -> dict[str, Any]:
    return build_openapi(frame(rows()))


def op(doc: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return doc["paths"][path][method]


def test_document_validates_and_serialises(doc: dict[str, Any]) -> None:
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    text = yaml.safe_dump(doc, sort_keys=False)
    assert "&id" not in text  # no YAML anchors: no object is shared between places
    assert yaml.safe_load(text) == json.loads(json.dumps(doc))
    validate(yaml.safe_load(text))


def test_paths_are_the_observed_templates_sorted(doc: dict[str, Any]) -> None:
    assert list(doc["paths"]) == [
        "/healthz", "/partner/v1/merchants/{merchant_slug}", "/v1/accounts/{account_id}",
        "/v2/accounts/{account_id}", "/v2/accounts/{account_id}/transfers", "/v2/payees/{payee_id}",
    ]
    assert "/v2/cards/{card_id}" not in doc["paths"]  # unused: documented, never seen
    assert "deleteCard" not in json.dumps(doc)
    assert list(doc["paths"]["/v2/accounts/{account_id}"]) == ["parameters", "get", "put"]
    assert doc["x-apisight"]["endpoints"] == 8


def test_path_parameters(doc: dict[str, Any]) -> None:
    item = doc["paths"]["/v2/accounts/{account_id}/transfers"]
    assert item["parameters"] == [{"name": "account_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    assert "parameters" not in doc["paths"]["/healthz"]


@pytest.mark.parametrize(
    ("name", "schema", "required", "example"),
    [
        ("expand", {"type": "string"}, False, "xxxxxxx"),
        ("limit", {"type": "integer"}, True, "99"),
        ("include_closed", {"type": "boolean"}, False, "xxxx"),
        ("since", {"type": "string", "format": "date"}, False, "9999-99-99"),
        ("rate", {"type": "number"}, False, "9.99"),
    ],
)
def test_query_parameters(doc: dict[str, Any], name: str, schema: dict, required: bool, example: str) -> None:
    params = {p["name"]: p for p in op(doc, "/v2/accounts/{account_id}", "get")["parameters"]}
    assert list(params) == sorted(params)
    p = params[name]
    assert (p["in"], p["schema"], p["required"], p["example"]) == ("query", schema, required, example)
    assert p["x-apisight"] == {"seen": 10, "distinct_values": 4}


def test_uuid_query_parameter(doc: dict[str, Any]) -> None:
    (p,) = op(doc, "/v2/accounts/{account_id}/transfers", "post")["parameters"]
    assert p["schema"] == {"type": "string", "format": "uuid"} and p["required"] is True


def test_timestamp_shapes_are_not_claimed_as_dates() -> None:
    doc = build_openapi(frame([row(API, "GET", "/events", params=[param("since", "date", "9999-99-99x99:99:99")])]))
    (p,) = op(doc, "/events", "get")["parameters"]
    assert p["schema"] == {"type": "string"} and p["example"] == "9999-99-99x99:99:99"


def test_request_body_and_responses(doc: dict[str, Any]) -> None:
    post = op(doc, "/v2/accounts/{account_id}/transfers", "post")
    assert post["requestBody"]["required"] is True
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "type": "object", "properties": {"amount": {"type": "integer"}, "to": {"type": "string"}},
        "required": ["amount", "to"],
    }
    assert post["responses"] == {
        "201": {"description": "Observed 38 times", "content": {"application/json": {"schema": {"type": "object"}}}},
        "422": {"description": "Observed 2 times"},
    }
    get = op(doc, "/v2/accounts/{account_id}", "get")
    assert list(get["responses"]) == ["200", "403", "404"]
    assert "requestBody" not in get
    assert op(doc, "/v2/payees/{payee_id}", "delete")["responses"] == {"204": {"description": "Observed 2 times"}}
    assert op(doc, "/healthz", "get")["responses"]["200"]["content"] == {"text/plain": {}}


def test_genson_schema_is_cleaned_for_json_schema_2020_12(doc: dict[str, Any]) -> None:
    schema = op(doc, "/v2/accounts/{account_id}", "get")["responses"]["200"]["content"]["application/json"]["schema"]
    assert "$schema" not in schema
    assert schema["required"] == ["balance", "id"]
    assert "required" not in schema["properties"]["meta"]  # empty list dropped
    assert schema["properties"]["history"]["items"]["required"] == ["at"]


def test_security_schemes_and_requirements(doc: dict[str, Any]) -> None:
    assert doc["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        "basicAuth": {"type": "http", "scheme": "basic"},
        "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    }
    assert op(doc, "/v2/accounts/{account_id}", "get")["security"] == [{"bearerAuth": []}, {}]
    assert op(doc, "/v2/accounts/{account_id}/transfers", "post")["security"] == [{"bearerAuth": []}]
    assert op(doc, "/partner/v1/merchants/{merchant_slug}", "get")["security"] == [{"apiKeyAuth": []}]
    assert op(doc, "/v2/accounts/{account_id}", "put")["security"] == [{"basicAuth": []}]
    assert op(doc, "/healthz", "get")["security"] == []  # only anonymous calls: public


def test_api_key_header_name_is_configurable() -> None:
    doc = build_openapi(frame(rows()), api_key_header="Ocp-Apim-Subscription-Key")
    assert doc["components"]["securitySchemes"]["apiKeyAuth"]["name"] == "Ocp-Apim-Subscription-Key"


def test_unknown_auth_says_nothing() -> None:
    doc = build_openapi(frame([row(API, "GET", "/metrics", 5, auth={"unknown": 5})]))
    validate(doc)
    assert "security" not in op(doc, "/metrics", "get") and "components" not in doc


def test_operation_ids_spec_or_generated_and_unique(doc: dict[str, Any]) -> None:
    assert op(doc, "/v2/accounts/{account_id}", "get")["operationId"] == "getAccount"
    assert op(doc, "/v2/payees/{payee_id}", "delete")["operationId"] == "delete_v2_payees_payee_id"
    clash = build_openapi(frame([
        row(API, "GET", "/a", operation_id="get_b"),  # a spec id equal to another's generated one
        row(API, "GET", "/b"),
        row(API, "POST", "/a", operation_id="get_b"),  # same spec id twice
    ]))
    ids = [o["operationId"] for item in clash["paths"].values() for o in item.values()]
    assert ids == ["get_b", "get_b_2", "get_b_3"]
    validate(clash)


def test_deprecated_tags_and_facts(doc: dict[str, Any]) -> None:
    old = op(doc, "/v1/accounts/{account_id}", "get")
    assert old["deprecated"] is True and old["x-apisight"]["spec_status"] == "zombie"
    get = op(doc, "/v2/accounts/{account_id}", "get")
    assert "deprecated" not in get
    assert op(doc, "/v2/accounts/{account_id}/transfers", "post")["tags"] == ["accounts", "payments"]
    assert doc["tags"] == [{"name": "accounts"}, {"name": "payments"}]
    assert get["x-apisight"] == {
        "host": API, "spec_status": "documented", "count": 903,
        "first_seen": "2026-03-01T08:00:00Z", "last_seen": "2026-03-07T18:30:00Z", "clients": 7,
        "latency_ms": {"p50": 12.5, "p95": 80.0, "p99": 150.25}, "auth": {"bearer": 900, "none": 3},
        "exposure": {"external": 903}, "owner": "team-ledger", "api_version": "v2",
        "drift": [{"kind": "undocumented_status", "detail": "403"}],
    }


def test_two_hosts_servers_and_shared_templates(doc: dict[str, Any]) -> None:
    assert doc["servers"] == [{"url": f"https://{API}"}, {"url": f"https://{PARTNER}"}]
    # one host per path item: servers on the path item
    assert doc["paths"]["/partner/v1/merchants/{merchant_slug}"]["servers"] == [{"url": f"https://{PARTNER}"}]
    # same template, different methods on different hosts: servers per operation
    item = doc["paths"]["/v2/accounts/{account_id}"]
    assert "servers" not in item
    assert item["get"]["servers"] == [{"url": f"https://{API}"}]
    assert item["put"]["servers"] == [{"url": f"https://{PARTNER}"}]
    assert item["put"]["x-apisight"]["template"] == "/v2/accounts/{id}"  # merged under the first name
    # same method and template on both hosts: one operation, facts per host
    health = doc["paths"]["/healthz"]
    assert health["servers"] == [{"url": f"https://{API}"}, {"url": f"https://{PARTNER}"}]
    facts = health["get"]["x-apisight"]
    assert facts["count"] == 350 and [h["host"] for h in facts["hosts"]] == [API, PARTNER]
    assert health["get"]["responses"]["200"]["description"] == "Observed 350 times"


def test_host_filter() -> None:
    doc = build_openapi(frame(rows()), host=PARTNER, title="Partner gateway")
    validate(doc)
    assert doc["info"]["title"] == "Partner gateway"
    assert doc["servers"] == [{"url": f"https://{PARTNER}"}]
    assert list(doc["paths"]) == ["/healthz", "/partner/v1/merchants/{merchant_slug}", "/v2/accounts/{id}"]
    assert all("servers" not in item and "servers" not in o
               for item in doc["paths"].values() for o in item.values() if isinstance(o, dict))
    assert set(doc["components"]["securitySchemes"]) == {"apiKeyAuth", "basicAuth"}
    assert build_openapi(frame(rows()), host="nowhere.example")["paths"] == {}


def test_examples_are_shapes_never_values(doc: dict[str, Any]) -> None:
    params = {p["name"]: p for p in op(doc, "/partner/v1/merchants/{merchant_slug}", "get")["parameters"]}
    assert params["cursor"]["example"] == "xxxx_9999xxxxx"
    assert params["page"]["example"] == "99"
    text = json.dumps(doc)
    for value in ("8812", "alice", "acct_"):
        assert value not in text


def test_same_rows_in_any_order_give_the_same_document() -> None:
    data = rows()
    expected = json.dumps(build_openapi(frame(data)))
    for seed in range(5):
        shuffled = frame(data).sample(fraction=1.0, shuffle=True, seed=seed)
        assert json.dumps(build_openapi(shuffled)) == expected


def test_methods_and_paths_openapi_cannot_express() -> None:
    doc = build_openapi(frame([
        row(API, "PROPFIND", "/dav/{file}", 3),
        row(API, "GET", "/dav/{file}", 3),
        row(API, "OPTIONS", "*", 4),
    ]))
    validate(doc)
    item = doc["paths"]["/dav/{file}"]
    assert list(item["x-apisight-operations"]) == ["PROPFIND"] and "get" in item
    assert doc["x-apisight"]["skipped"] == [
        {"host": API, "method": "OPTIONS", "path": "*", "reason": "not an absolute path"}
    ]


def test_empty_inventory_is_a_valid_document() -> None:
    doc = build_openapi(frame([]))
    validate(doc)
    assert doc["paths"] == {} and "servers" not in doc


def test_bad_json_column_names_the_row() -> None:
    bad = row(API, "GET", "/x")
    bad["status_codes"] = "{not json"
    with pytest.raises(InputError, match=r"GET api\.bank\.example/x: column status_codes"):
        build_openapi(frame([bad]))


@pytest.mark.slow
def test_demo_inventory_exports_a_valid_document(tmp_path: Path) -> None:
    from apisight.config import load_settings
    from apisight.demo import generate_demo
    from apisight.pipeline import RunRequest, analyze
    from apisight.readers.base import ReaderOptions
    from apisight.store import Catalog
    from apisight.store.inventory import load_endpoints

    manifest = generate_demo(tmp_path / "input", seed=7, scale=0.05)
    data = tmp_path / "data"
    data.mkdir()
    per_file = {str(f.path): (f.format, ReaderOptions(log_format=f.log_format)) for f in manifest.files}
    request = RunRequest([str(f.path) for f in manifest.files], data, load_settings(None, data),
                         per_file_options=per_file, specs=list(manifest.specs))
    analyze(request)
    catalog = Catalog(data)
    try:
        endpoints = load_endpoints(catalog.db)
    finally:
        catalog.close()

    doc = build_openapi(endpoints)
    validate(doc)
    yaml.safe_dump(doc)
    observed = endpoints.filter(pl.col("count") > 0)
    ops = [o for item in doc["paths"].values() for m, o in item.items() if m in OPENAPI_METHODS]
    assert sum(o["x-apisight"]["count"] for o in ops) == observed["count"].sum()
    assert len(doc["servers"]) == observed["host"].n_unique()
    ids = [o["operationId"] for o in ops]
    assert len(ids) == len(set(ids))
    one = observed["host"][0]
    validate(build_openapi(endpoints, host=one))

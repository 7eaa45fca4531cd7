"""The sensitive stage inside normalisation and the data/flows views over what it stores."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import orjson
import polars as pl
import pytest

from apisight.config import Settings
from apisight.fingerprints import Fingerprinter
from apisight.pipeline import RunRequest, analyze
from apisight.sensitive.stage import mask_spans
from apisight.store import Catalog
from apisight.store import sensitive as sensitive_store

CARD = "4539 1488 0343 6467"  # a valid Visa test number (Luhn)
IBAN = "GB82WEST12345698765432"
PHONE = "+447700900123"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjdXN0LTEwNDIifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"


@pytest.mark.parametrize(
    ("text", "spans", "expected"),
    [
        ('{"pan": "4111111111111111"}', [(9, 25, "4111 **** **** 1111")], '{"pan": "4111 **** **** 1111"}'),
        ('{"ssn": 123456789}', [(8, 17, "***-**-6789")], '{"ssn": "***-**-6789"}'),  # a number stays JSON
        ("ssn=123-45-6789&x=1", [(4, 15, "***-**-6789")], "ssn=***-**-6789&x=1"),
        ('{"a": "é x@y.io"}', [(10, 16, "x***@y.io")], '{"a": "é x***@y.io"}'),  # byte offsets past UTF-8
    ],
)
def test_mask_spans(text, spans, expected):
    findings = pl.DataFrame(
        {"row": [0] * len(spans), "start": [s for s, _, _ in spans], "end": [e for _, e, _ in spans],
         "masked": [m for _, _, m in spans]}
    )
    masked = mask_spans(pl.Series([text, "untouched"]), findings).to_list()
    assert masked == [expected, "untouched"]
    if text.startswith("{"):
        json.loads(masked[0])



def test_mask_spans_rebuilds_only_rows_with_findings():
    body = '{"a": 1, "pan": "4111111111111111", "ssn": 536221234}'
    pan, ssn = body.index("4111"), body.index("5362")
    texts = pl.Series("body", [body, None, "keep me", "x 12 y"])
    findings = pl.DataFrame(
        {"row": [3, 0, 0], "start": [2, ssn, pan], "end": [4, ssn + 9, pan + 16], "masked": ["**", "***-**-1234", None]}
    )
    masked = mask_spans(texts, findings)
    assert masked.name == "body"
    assert masked.to_list() == ['{"a": 1, "pan": "[masked]", "ssn": "***-**-1234"}', None, "keep me", "x ** y"]
    assert texts[0] == body  # the input column is left as it was


def test_mask_spans_with_overlapping_spans_replaces_from_the_end():
    # each replacement is made on the text so far, the last start first (as spans were always applied)
    findings = pl.DataFrame({"row": [0, 0], "start": [2, 4], "end": [6, 8], "masked": ["A", "B"]})
    assert mask_spans(pl.Series(["0123456789"]), findings).to_list() == ["01A9"]

def harl(url: str, body: dict, client: str, key: str, sent: dict | None = None, received: dict | None = None) -> str:
    return orjson.dumps({
        "startedDateTime": "2026-11-28T10:00:00.000Z", "time": 10, "_clientIP": client,
        "request": {"method": "GET", "url": url, "bodySize": 0,
                    "headers": [{"name": "X-Api-Key", "value": key},
                                *({"name": k, "value": v} for k, v in (sent or {}).items())]},
        "response": {"status": 200, "bodySize": 10,
                     "headers": [{"name": "Content-Type", "value": "application/json"},
                                 *({"name": k, "value": v} for k, v in (received or {}).items())],
                     "content": {"size": 10, "mimeType": "application/json", "text": orjson.dumps(body).decode()}},
    }).decode()


# planted in headers and percent-encoded in URLs: found, and on disk in no form at all
HEADER_EMAIL, REFERER_EMAIL, QUERY_EMAIL = "carol.jones@example.com", "dave.lee@example.org", "erin.moss@example.net"
SSN, HEADER_CARD, QUERY_PHONE = "536-22-1234", "5555 5555 5555 4444", "+447911123456"
LOCATION_IBAN = "DE89 3704 0044 0532 0130 00"


def _stored_text(data_dir) -> str:
    """Everything under ``data_dir``: Parquet string columns decoded, every other file as bytes."""
    stored = []
    for path in data_dir.rglob("*"):
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            stored += [v for c in frame.columns if frame[c].dtype == pl.String for v in frame[c].drop_nulls()]
        elif path.is_file():
            stored.append(path.read_bytes().decode("latin-1"))
    return "\n".join(stored)


def test_pipeline_maps_who_receives_what_and_stores_no_value(tmp_path):
    lines = [harl(f"https://api.bank.example/v1/cards/{n}", {"pan": CARD if n % 2 else "4916 3388 5100 0009",
                                                            "owner": {"phone": PHONE}}, "198.51.100.7", "key-a")
             for n in range(10)]
    encoded_query = f"contact={quote(QUERY_EMAIL)}&mobile={quote(QUERY_PHONE)}"
    lines += [harl(f"https://api.bank.example/v1/accounts/{n}?email=ann@example.com&{encoded_query}",
                   {"iban": IBAN}, "203.0.113.9", "key-b",
                   sent={"X-User-Email": HEADER_EMAIL, "X-Customer-SSN": SSN, "Authorization": f"Bearer {JWT}",
                         "Referer": f"https://web.example/help?email={quote(REFERER_EMAIL)}"},
                   received={"Location": f"/v1/accounts?iban={quote_plus(LOCATION_IBAN)}&e={quote(HEADER_EMAIL)}",
                             "X-Card": HEADER_CARD})
              for n in range(4)]
    path = tmp_path / "t.harl"
    path.write_text("\n".join(lines) + "\n")
    analyze(RunRequest([str(path)], tmp_path / "d", Settings()))
    with Catalog(tmp_path / "d", read_only=True) as catalog:
        data = {(r["path"], r["type"], r["direction"]): r for r in sensitive_store.data_map(catalog.db).to_dicts()}
        flows = sensitive_store.flows(catalog.db, "response", "card_number").to_dicts()
    cards = data["/v1/cards/{card_id}", "card_number", "response"]
    assert cards["events"] == 10 and cards["distinct_values"] == 2 and cards["fields"] == ["$.pan"]
    assert data["/v1/cards/{card_id}", "phone", "response"]["fields"] == ["$.owner.phone"]
    accounts = "/v1/accounts/{account_id}"
    query_emails = data[accounts, "email", "query"]
    assert query_emails["events"] == 4 and query_emails["fields"] == ["$.contact", "$.email"]
    assert query_emails["distinct_values"] == 2
    assert data[accounts, "phone", "query"]["fields"] == ["$.mobile"]
    assert data[accounts, "email", "request"]["fields"] == ["header:referer", "header:x-user-email"]
    assert data[accounts, "us_ssn", "request"]["fields"] == ["header:x-customer-ssn"]
    assert data[accounts, "email", "response"]["fields"] == ["header:location"]
    assert data[accounts, "iban", "response"]["fields"] == ["$.iban", "header:location"]
    assert data[accounts, "card_number", "response"]["fields"] == ["header:x-card"]
    assert not [k for k in data if k[1] in ("jwt", "bearer_token", "api_secret", "ip_address")]  # credentials
    assert [(f["client_ips"], f["distinct_values"]) for f in flows] == [(1, 2), (1, 1)]
    stored = _stored_text(tmp_path / "d")
    planted = (CARD, IBAN, PHONE, "ann@example.com", HEADER_EMAIL, REFERER_EMAIL, QUERY_EMAIL, SSN, HEADER_CARD,
               QUERY_PHONE, LOCATION_IBAN, JWT)
    for value in planted:
        for form in {value, value.replace(" ", ""), quote(value), quote_plus(value), quote(value, safe="")}:
            assert form not in stored, form
    for local_part in ("carol.jones", "dave.lee", "erin.moss", "447911123456", "0532 0130", "0532+0130"):
        assert local_part not in stored, local_part


def test_scanning_can_be_turned_off(tmp_path):
    path = tmp_path / "t.harl"
    path.write_text(harl("https://a.example/v1/x", {"iban": IBAN}, "198.51.100.7", "k") + "\n")
    analyze(RunRequest([str(path)], tmp_path / "d", Settings.model_validate({"sensitive": {"enabled": False}})))
    with Catalog(tmp_path / "d", read_only=True) as catalog:
        assert sensitive_store.data_map(catalog.db).height == 0


def test_fingerprints_follow_one_value_across_formats():
    fp = Fingerprinter(b"0123456789abcdef0123456789abcdef")
    from apisight.sensitive.stage import SensitiveStage

    stage = SensitiveStage(fp)
    frame = pl.DataFrame({
        "request_body": [None, None], "request_content_type": [None, None],
        "response_body": ['{"pan": "4539-1488-0343-6467"}', '{"pan": "4539148803436467"}'],
        "response_content_type": ["application/json"] * 2, "query": [None, None], "path": ["/a", "/b"],
    })
    _, findings = stage(frame)
    cards = findings.filter(pl.col("type") == "card_number")
    assert cards.height == 2 and cards["fingerprint"].n_unique() == 1

"""Field paths, field hints, fingerprints, batches and the never-a-raw-value property."""

from __future__ import annotations

import base64
import json

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import iban as std_iban
from stdnum import luhn

from apisight.sensitive import FINDINGS_SCHEMA, Scanner
from apisight.sensitive.fieldpath import field_paths
from tests.sensitive.conftest import findings


def test_field_paths_in_nested_json_arrays(scanner: Scanner) -> None:
    body = json.dumps(
        {
            "customer": {"email": "a.b@example.com", "tags": ["x", {"note": "y"}]},
            "accounts": [
                {"id": 1, "iban": "GB82WEST12345698765432"},
                {"id": 2, "cards": [{"pan": "4111111111111111"}, {"pan": "5555555555554444"}]},
            ],
        }
    )
    got = {(f["type"], f["field"]) for f in findings(scanner, body)}
    assert got == {
        ("email", "$.customer.email"),
        ("iban", "$.accounts[0].iban"),
        ("card_number", "$.accounts[1].cards[0].pan"),
        ("card_number", "$.accounts[1].cards[1].pan"),
    }


@pytest.mark.parametrize(
    ("text", "fmt", "offsets", "paths"),
    [
        (b'{"a":{"b":[1,{"c":"X"}]}}', "json", [19], ["$.a.b[1].c"]),
        (b'[{"k":"v"},{"k":"X"}]', "json", [17], ["$[1].k"]),
        (b'{"s":"a,{[b","t":"X"}', "json", [17], ["$.t"]),  # brackets inside strings
        (b"a=1&card_no=X&c=3", "form", [12], ["$.card_no"]),
        (b"<r><p><iban>X</iban></p></r>", "xml", [12], ["$.r.p.iban"]),
        (b"plain X text", "text", [6], ["$"]),
        (b'{"4111111111111111":"X"}', "json", [21], ["$.*"]),  # a value as a name is never a path
    ],
)
def test_field_paths(text: bytes, fmt: str, offsets: list[int], paths: list[str]) -> None:
    assert field_paths(text, offsets, fmt) == paths


def test_field_hinted_types_only_next_to_their_fields(scanner: Scanner) -> None:
    body = '{"dob":"1980-01-02","booked_at":"1980-01-02","password":"pw-123","note":"password pw-123"}'
    got = sorted((f["type"], f["field"]) for f in findings(scanner, body))
    assert got == [("date_of_birth", "$.dob"), ("password", "$.password")]


def test_hint_raises_confidence(scanner: Scanner) -> None:
    plain = findings(scanner, "id 536-22-1234")[0]["confidence"]
    hinted = findings(scanner, '{"ssn":"536-22-1234"}')[0]["confidence"]
    assert hinted > plain >= 0.5


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("4111-1111-1111-1111", "4111111111111111"),
        ("4111 1111 1111 1111", '{"pan":"4111111111111111"}'),
        ("GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432"),
        ('{"ssn":"536221234"}', "536-22-1234"),
        ('{"phone":"020 7946 0958"}', "+442079460958"),
        ("John.Doe@Example.COM", "john.doe@example.com"),
    ],
)
def test_fingerprints_follow_one_value_across_formats(scanner: Scanner, a: str, b: str) -> None:
    fa, fb = (findings(scanner, t)[0]["fingerprint"] for t in (a, b))
    assert fa == fb and fa is not None


def test_batch_rows_nulls_and_boundaries(scanner: Scanner) -> None:
    texts = pl.Series(["x 4111111111111111", None, "", "4111111111111111 y", "4111111111", "111111"])
    out = scanner.scan(texts)
    assert out.schema == pl.Schema(FINDINGS_SCHEMA)
    assert out["row"].to_list() == [0, 3]  # digits split across rows never join into one card
    assert out["start"].to_list() == [2, 0]
    assert scanner.scan(pl.Series([], dtype=pl.String)).is_empty()


def test_invalid_utf8_replacement_and_unicode_offsets(scanner: Scanner) -> None:
    out = scanner.scan(['\ufffd\ufffdé {"email":"zoe@example.com"} ✓ 4111111111111111'])
    assert out.filter(pl.col("type") == "card_number")["start"].item() > 0
    assert out["type"].to_list() == ["email", "card_number"]


def _card(prefix: str, length: int, draw_digits: str) -> str:
    body = (prefix + draw_digits)[: length - 1]
    return body + luhn.calc_check_digit(body)


def _iban(digits: str) -> str:
    bban = "WEST" + digits[:14].ljust(14, "0")
    return "GB" + std_iban.calc_check_digits("GB00" + bban) + bban


_digits = st.text("0123456789", min_size=20, max_size=20)
_planted = st.one_of(
    _digits.map(lambda d: _card("4", 16, d)),
    _digits.map(lambda d: _card("51", 16, d)),
    _digits.map(_iban),
    st.integers(1, 665).map(lambda a: f"{a:03d}-45-6789"),
    st.from_regex(r"[a-z]{3,8}\.[a-z]{2,6}@example\.(com|org)", fullmatch=True),
)
_keys = st.sampled_from(["pan", "card", "iban", "ssn", "email", "note", "value", "data"])
_layouts = st.sampled_from(["json", "form", "text", "nested", "b64-json"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.tuples(_keys, _planted), min_size=1, max_size=4), layout=_layouts)
def test_findings_never_hold_a_planted_value(
    scanner: Scanner, values: list[tuple[str, str]], layout: str
) -> None:
    if layout == "json":
        text = json.dumps(dict(values))
    elif layout == "nested":
        text = json.dumps({"items": [{k: v} for k, v in values]})
    elif layout == "form":
        text = "&".join(f"{k}={v}" for k, v in values)
    elif layout == "b64-json":
        text = json.dumps({k: v for k, v in values}) + " " + base64.b64encode(b"x").decode()
    else:
        text = " ".join(f"{k} {v}" for k, v in values)
    out = scanner.scan([text, text.upper()])
    dumped = out.write_csv() + json.dumps(out.to_dicts())
    for _, value in values:
        compact = value.replace("-", "").replace(" ", "")
        for form in {value, compact, value.upper(), compact.upper(), value.lower()}:
            assert form not in dumped


# --- the batch machinery: overlaps, memo, long values --------------------------------------


def _reference_overlaps(
    spans: list[tuple[int, int, int, float, int, int]], min_confidence: float
) -> list[int]:
    """As first written: rows with an overlap ranked whole, greedily; (row, start, end, confidence,
    order, expr) -> kept, in (row, start) order."""
    kept = sorted(
        (i for i, s in enumerate(spans) if s[3] >= min_confidence),
        key=lambda i: (spans[i][0], spans[i][1], spans[i][5]),
    )
    reach, bad = -1, set()
    for i in kept:
        if spans[i][1] < reach:
            bad.add(spans[i][0])
        reach = max(reach, spans[i][2])
    ranked = sorted(
        (i for i in kept if spans[i][0] in bad),
        key=lambda i: (-spans[i][3], spans[i][4], spans[i][1] - spans[i][2]),
    )
    taken: dict[int, list[tuple[int, int]]] = {}
    out = [i for i in kept if spans[i][0] not in bad]
    for i in ranked:
        row, s, e = spans[i][:3]
        if any(s < te and ts < e for ts, te in taken.setdefault(row, [])):
            continue
        taken[row].append((s, e))
        out.append(i)
    return sorted(out, key=lambda i: (spans[i][0], spans[i][1]))


_span = st.tuples(
    st.integers(0, 2),  # row
    st.integers(0, 8),  # start within the row
    st.integers(0, 4),  # length (0: an empty span, as a custom field pattern can give)
    st.sampled_from([0.4, 0.9, 1.0]),  # few values: ties are the point
    st.integers(0, 2),  # recognizer order
)


@settings(max_examples=500, deadline=None)
@given(raw=st.lists(_span, max_size=14, unique_by=lambda s: (s[0], s[1], s[4])))
def test_overlap_resolution_matches_whole_row_greedy(raw: list[tuple[int, int, int, float, int]]) -> None:
    import numpy as np

    from apisight.sensitive.overlaps import Found, Outcome, resolve_overlaps
    from apisight.sensitive.validators import Verdict

    # rows are 100 bytes apart in the joined buffer; the expression id doubles as the order
    spans = [(row, 100 * row + s, 100 * row + s + n, conf, order, order) for row, s, n, conf, order in raw]
    outcomes = [Outcome(s[4], None, "p", Verdict(True), "", s[3]) for s in spans]  # type: ignore[arg-type]
    found = Found(
        *(np.array([s[k] for s in spans], dtype=np.int64) for k in (0, 1, 2, 5)),
        np.arange(len(spans), dtype=np.int64),
        outcomes,
        {},
    )
    got = resolve_overlaps(found, 0.5).tolist()
    want = _reference_overlaps(spans, 0.5)
    assert [spans[i][:3] for i in got] == [spans[i][:3] for i in want]


def test_a_warm_scanner_gives_what_a_fresh_one_gives(fingerprinter) -> None:
    texts = [
        '{"pan":"4111111111111111","phone":"+447700900123","iban":"GB82 WEST 1234 5698 7654 32"}',
        "ssn=536-22-1234&password=hunter22&email=Zoe@Example.com",
        '{"items":[{"access_token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"}]}',
        "<r><dob>1980-01-02</dob><phone>020 7946 0958</phone></r>",
    ]
    warm = Scanner(fingerprinter)
    for _ in range(3):
        once = warm.scan(texts * 5)
    assert once.equals(Scanner(fingerprinter).scan(texts * 5))
    assert once.height == 5 * Scanner(fingerprinter).scan(texts).height


def _catalog_with(entry: dict):
    from apisight.sensitive import load_catalog
    from apisight.sensitive.catalog import Catalog, Recognizer

    return Catalog(recognizers=(*load_catalog().recognizers, Recognizer.model_validate(entry)))


def test_a_long_quoted_value_is_read_as_the_bounded_pattern_reads_it(fingerprinter) -> None:
    scanner = Scanner(
        fingerprinter,
        _catalog_with(
            {
                "name": "note_text",
                "context_required": True,
                "field_hints": ["note"],
                "mask": "full",
                "patterns": [{"name": "any", "regex": ".{1,2000}", "score": 0.9}],
            }
        ),
    )
    escaped = 'ab\\"' * 150  # 600 bytes, 450 characters-or-escapes: within the 512 bound
    plain = "ab" * 300  # 600 characters: past it, so not read as a value
    out = scanner.scan([f'{{"note": "{escaped}"}}', f'{{"note": "{plain}"}}', '{"note":   "short one"}'])
    notes = out.filter(pl.col("type") == "note_text")
    assert notes["row"].to_list() == [0, 2]
    assert (notes["end"] - notes["start"]).to_list() == [600, 9]

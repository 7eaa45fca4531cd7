"""Precision and recall on the demo bank's bodies against a strict reference.

The reference parses every JSON body and takes the values of the fields the demo
generator fills with sensitive data (validated with python-stdnum): it is what a
careful person would count. The scanner must find those, and little else.
"""

from __future__ import annotations

import json

import polars as pl
import pytest
from stdnum import iban, luhn
from stdnum.us import ssn

from apisight.demo import demo_frames
from apisight.sensitive import Scanner

#: type -> (field names the demo uses for it, a strict check)
REFERENCE = {
    "card_number": ({"pan"}, lambda v: luhn.is_valid(v)),
    "iban": ({"iban", "payee_iban", "Identification"}, lambda v: iban.is_valid(v)),
    "us_ssn": ({"ssn"}, lambda v: ssn.is_valid(v)),
    "email": ({"email", "username", "user"}, lambda v: "@" in v),
    "phone": ({"phone"}, lambda v: v.startswith("+")),
    "date_of_birth": ({"date_of_birth"}, lambda v: True),
    "password": ({"password"}, lambda v: bool(v)),
}


def _walk(node: object, out: list[tuple[str, str]]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, (dict, list)):
                _walk(v, out)
            else:
                out.append((k, str(v)))
    elif isinstance(node, list):
        for v in node:
            _walk(v, out)


def _reference(bodies: list[str | None]) -> set[tuple[int, str]]:
    truth = set()
    for row, body in enumerate(bodies):
        if not body or body[:1] not in "{[":
            continue
        pairs: list[tuple[str, str]] = []
        _walk(json.loads(body), pairs)
        for key, value in pairs:
            for type_, (fields, check) in REFERENCE.items():
                if key in fields and check(value):
                    truth.add((row, type_))
    return truth


@pytest.fixture(scope="module")
def bodies() -> list[str | None]:
    frames = demo_frames(scale=0.05)
    df = pl.concat(list(frames.values()), how="diagonal_relaxed")
    return df["request_body"].to_list() + df["response_body"].to_list()


def test_precision_and_recall_per_type(scanner: Scanner, bodies: list[str | None]) -> None:
    found = scanner.scan(pl.Series(bodies, dtype=pl.String))
    got = {(r, t) for r, t in found.select("row", "type").iter_rows() if t in REFERENCE}
    truth = _reference(bodies)
    for type_ in REFERENCE:
        g = {x for x in got if x[1] == type_}
        t = {x for x in truth if x[1] == type_}
        assert t, f"the demo has no {type_}"
        precision = len(g & t) / len(g) if g else 0.0
        recall = len(g & t) / len(t)
        floor = 0.99 if type_ in {"card_number", "iban", "us_ssn"} else 0.95
        assert precision >= floor and recall >= floor, (type_, precision, recall, len(g), len(t))


def test_no_unexpected_types_in_demo(scanner: Scanner, bodies: list[str | None]) -> None:
    found = scanner.scan(pl.Series(bodies, dtype=pl.String))
    other = set(found["type"].unique()) - set(REFERENCE)
    # what the demo also carries, and is right to report
    assert other <= {"postal_address", "jwt", "api_secret", "card_expiry", "bank_account", "ip_address"}, (
        other
    )

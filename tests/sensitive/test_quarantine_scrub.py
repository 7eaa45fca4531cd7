"""Malformed records are set aside with no more in clear than their events would keep."""

from __future__ import annotations

import orjson
import pytest

from apisight.config import Settings
from apisight.pipeline import RunRequest, analyze

#: One planted value of each type the recognizers find, in the context they need, and the
#: characters that must not survive in the quarantine file.
PLANTED = [
    ('{"card":"4111 1111 1111 1111"}', "4111 1111 1111 1111"),
    ('{"pan":"5500005555555559"}', "5500005555555559"),
    ('{"ssn":"536-22-1234"}', "536-22-1234"),
    ('{"iban":"GB82WEST12345698765432"}', "GB82WEST12345698765432"),
    ('{"routing_number":"011000015"}', "011000015"),
    ('{"bic":"DEUTDEFF500"}', "DEUTDEFF500"),
    ('{"account_number":"12345678"}', "12345678"),
    ('{"nino":"AB123456C"}', "AB123456C"),
    ('{"sin":"130 692 544"}', "130 692 544"),
    ('{"dni":"12345678Z"}', "12345678Z"),
    ('{"email":"John.Doe@Example.com"}', "John.Doe@Example.com"),
    ('{"phone":"+447012345678"}', "+447012345678"),  # a UK mobile: once kept in clear here
    ('{"mobile":"+447700900123"}', "+447700900123"),
    ('{"dob":"1980-02-29"}', "1980-02-29"),
    ('{"address":"10 Downing Street, London SW1A 2AA"}', "10 Downing Street"),
    ('{"card_expiry":"04/28"}', "04/28"),
    ('{"cvv":"123"}', '"123"'),
    ("GET /v1/users?phone=%2B447012345678&email=jane%40mail.example", "%2B447012345678"),
]


@pytest.mark.parametrize(("planted", "value"), PLANTED, ids=[p[1] for p in PLANTED])
def test_a_planted_value_never_reaches_the_quarantine_file_in_clear(tmp_path, planted, value):
    good = '203.0.113.5 - - [20/Nov/2026:09:00:00 +0000] "GET /v1/ping HTTP/1.1" 200 2 "-" "app"'
    log = tmp_path / "access.log"
    log.write_text(f"{good}\nthis line is broken {planted} and more\n{good}\n")
    summary = analyze(RunRequest([str(log)], tmp_path / "d", Settings(), format="nginx"))
    assert summary["malformed"]["total"] == 1
    quarantined = (tmp_path / "d" / "quarantine").glob("*.jsonl")
    (text,) = [p.read_text() for p in quarantined]
    record = orjson.loads(text)
    assert record["line_no"] == 2 and "this line is broken" in record["excerpt"]  # the shape is still shown
    assert value not in text
    assert value not in orjson.dumps(summary["malformed"]["examples"]).decode()

"""One table per recognizer family: valid -> found, validated, masked; invalid -> not found."""

from __future__ import annotations

import pytest
from stdnum import luhn

from apisight.sensitive import Scanner
from tests.sensitive.conftest import findings, only

#: a 16-digit order id that passes Luhn by chance (1 in 10 do) outside every issuer range
ORDER_ID = "202611260001234" + luhn.calc_check_digit("202611260001234")


def _one(scanner: Scanner, text: str, type_: str) -> dict:
    found = only(scanner, text, type_)
    assert len(found) == 1, (text, findings(scanner, text))
    return found[0]


@pytest.mark.parametrize(
    ("text", "masked", "exposure"),
    [
        ('{"pan":"4111111111111111"}', "4111 **** **** 1111", "clear"),
        ('{"cardNumber":"5555 5555 5555 4444"}', "5555 **** **** 4444", "clear"),
        ("paid with 4111-1111-1111-1111 today", "4111 **** **** 1111", "clear"),
        ('{"card":"378282246310005"}', "3782 **** *** 0005", "clear"),
        ("amex 3782 822463 10005", "3782 **** *** 0005", "clear"),
        ('{"n":"6011111111111117"}', "6011 **** **** 1117", "clear"),  # strong issuer/length, no hint
        ('{"card":"4111 **** **** 1111"}', "4111 **** **** 1111", "masked"),
        ('{"pan":"411111******1111"}', "411111******1111", "masked"),
    ],
)
def test_card_found(scanner: Scanner, text: str, masked: str, exposure: str) -> None:
    f = _one(scanner, text, "card_number")
    assert (f["masked"], f["exposure"]) == (masked, exposure)
    if exposure == "clear":
        assert f["validated"] and f["confidence"] == 1.0 and f["fingerprint"]
    else:
        assert f["fingerprint"] is None


@pytest.mark.parametrize(
    "text",
    [
        '{"pan":"4111111111111112"}',  # Luhn fails
        f'{{"order_id":"{ORDER_ID}"}}',  # Luhn-valid by chance, no issuer range
        '{"id":"1234567812345670"}',  # Luhn-valid, no issuer range
        '{"ref":"6759649826438453"}',  # Maestro: weak, no hint, no grouping
        '{"n":"4222222222222"}',  # Visa 13: weak shape without hint
        "4111 1111-1111 1111",  # mixed separators
        '{"amount":4111111111111111.00}',  # part of a decimal number
    ],
)
def test_card_not_found(scanner: Scanner, text: str) -> None:
    assert only(scanner, text, "card_number") == []


@pytest.mark.parametrize(
    ("text", "type_", "masked", "checksum"),
    [
        ('{"ssn":"536-22-1234"}', "us_ssn", "***-**-1234", False),
        ('{"ssn":"536221234"}', "us_ssn", "***-**-1234", False),
        ("SSN 536-22-1234 on file", "us_ssn", "***-**-1234", False),
        ('{"iban":"GB82WEST12345698765432"}', "iban", "GB** **** **** **** 5432", True),
        ("pay to GB82 WEST 1234 5698 7654 32 now", "iban", "GB** **** **** **** 5432", True),
        ('{"x":"DE89370400440532013000"}', "iban", "DE** **** **** **** 3000", True),
        ('{"routing_number":"011000015"}', "aba_routing", "*******15", True),
        ('{"bic":"DEUTDEFF500"}', "swift_bic", "*********00", False),
        ('{"account_number":"12345678"}', "bank_account", "******78", False),
        ('{"nino":"AB123456C"}', "uk_nino", "*******6C", False),
        ("NI number AB 12 34 56 C", "uk_nino", "*******6C", False),
        ('{"sin":"130 692 544"}', "ca_sin", "*******44", True),
        ('{"dni":"12345678Z"}', "es_dni", "*******8Z", True),
    ],
)
def test_banking_and_ids_found(scanner: Scanner, text: str, type_: str, masked: str, checksum: bool) -> None:
    f = _one(scanner, text, type_)
    assert f["masked"] == masked and f["validated"]
    assert (f["confidence"] == 1.0) is checksum


@pytest.mark.parametrize(
    ("text", "type_"),
    [
        ('{"ssn":"666-12-3456"}', "us_ssn"),  # area 666 never issued
        ('{"ssn":"536-00-1234"}', "us_ssn"),  # group 00
        ('{"iban":"GB82WEST12345698765433"}', "iban"),  # mod-97 fails
        ('{"iban":"GB82WEST123456987654"}', "iban"),  # wrong length for GB
        ('{"routing_number":"011000016"}', "aba_routing"),
        ('{"id":"011000015"}', "aba_routing"),  # valid but not next to a routing field
        ('{"code":"DEUTDEFF"}', "swift_bic"),  # not next to a BIC field
        ('{"nino":"QQ123456C"}', "uk_nino"),  # QQ prefix not issued
        ('{"sin":"130 692 545"}', "ca_sin"),
        ('{"dni":"12345678A"}', "es_dni"),
        ('{"account_id":"12345678"}', "bank_account"),  # an id, not an account-number field
    ],
)
def test_banking_and_ids_not_found(scanner: Scanner, text: str, type_: str) -> None:
    assert only(scanner, text, type_) == []


@pytest.mark.parametrize(
    ("text", "type_", "masked"),
    [
        ('{"email":"John.Doe@Example.com"}', "email", "j***@example.com"),
        ("write to jane_doe+tag@mail.example.org.", "email", "j***@mail.example.org"),
        ('{"phone":"+442079460958"}', "phone", "+44 *******958"),
        ("call +1 415 555 2671 now", "phone", "+1 *******671"),
        ('{"mobile":"020 7946 0958"}', "phone", "+44 *******958"),  # national format next to a phone field
        ('{"dob":"1980-02-29"}', "date_of_birth", "****-**-**"),
        ("<dateOfBirth>12/03/1975</dateOfBirth>", "date_of_birth", "****-**-**"),
        ('{"address":"10 Downing Street, London SW1A 2AA"}', "postal_address", "*** (address)"),
        ('{"client_ip":"203.0.113.9"}', "ip_address", "203.0.*.*"),
        ('{"card_expiry":"04/28"}', "card_expiry", "****-**-**"),
        ('{"cvv":"123"}', "card_cvv", "********"),
    ],
)
def test_personal_data_found(scanner: Scanner, text: str, type_: str, masked: str) -> None:
    assert _one(scanner, text, type_)["masked"] == masked


@pytest.mark.parametrize(
    ("text", "type_"),
    [
        ("logo@2x.png", "email"),  # a file name
        ("call 020 7946 0958", "phone"),  # national format without a phone field
        ('{"id":"+12"}', "phone"),
        ('{"booked_at":"1980-02-29"}', "date_of_birth"),  # a date, not next to a birth-date field
        ('{"dob":"2999-01-01"}', "date_of_birth"),
        ('{"city":"10 Downing Street"}', "postal_address"),
        ("version 1.2.3.4.5", "ip_address"),
        ('{"code":"123"}', "card_cvv"),
        ('{"expires_in":3600}', "card_expiry"),
    ],
)
def test_personal_data_not_found(scanner: Scanner, text: str, type_: str) -> None:
    assert only(scanner, text, type_) == []


JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PEM = "-----BEGIN RSA PRIVATE KEY-----\\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgwMaLJQY"


@pytest.mark.parametrize(
    ("text", "type_", "masked"),
    [
        (f'{{"access_token":"{JWT}"}}', "jwt", "eyJ********"),
        (f"Authorization: Bearer {JWT}", "jwt", "eyJ********"),
        ("Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0", "bearer_token", "Bearer ********"),
        ("key AKIAIOSFODNN7EXAMPLE", "aws_access_key", "AKIA********"),
        ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe_key", "sk_live_********"),
        ("token ghp_16C7e42F292c6912E7710c838347Ae178B4a", "github_token", "ghp_********"),
        (f'{{"key":"{PEM}"}}', "private_key", "-----BEGIN RSA PRIVATE KEY-----********"),
        ('{"username":"bob","password":"hunter2!"}', "password", "********"),
        ("grant_type=password&username=bob&password=hunter22", "password", "********"),
        ("client_id=abc&client_secret=cs_542bc7d0a04ddf698bf744f3", "api_secret", "cs_********"),
        ("https://admin:s3cret@db.example.com/x", "url_credentials", "https://***:***@"),
    ],
)
def test_secrets_found(scanner: Scanner, text: str, type_: str, masked: str) -> None:
    assert _one(scanner, text, type_)["masked"] == masked


@pytest.mark.parametrize(
    ("text", "type_"),
    [
        ("eyJub3QiOiJqd3QifQ.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijk", "jwt"),  # header has no alg
        ('{"password":""}', "password"),
        ('{"password":null}', "password"),
        ('{"passenger":"Jane"}', "password"),
        ("AKIAIOSFODNN7EXAMPL", "aws_access_key"),  # too short
    ],
)
def test_secrets_not_found(scanner: Scanner, text: str, type_: str) -> None:
    assert only(scanner, text, type_) == []


@pytest.mark.parametrize(
    "text",
    [
        '{"order_id":1000073,"customer_id":40000267}',
        '{"ts":1735689600,"ts_ms":1735689600123,"created":"2026-11-26T10:00:00Z"}',
        '{"amount":4111.11,"balance":23568.37,"total":"1234567.89"}',
        '{"id":"8674fc65-c601-43a5-9ced-d1931c3f13fb","request_id":"0d7ff2e8-6d4f-4611-ac77-aeaa5c5b5a79"}',
        '{"tracking":"1Z999AA10123456784","fedex":"794644790132","usps":"9400111899223847512345"}',
        "/v1/customers/4471234567/orders/20261126000123",
        '{"reference":"INV-615774","otp":"555422","page":5,"limit":50}',
        '{"version":"10.2.0.1234","build":"2026.11.26.1"}',
    ],
)
def test_look_alikes_not_reported(scanner: Scanner, text: str) -> None:
    assert findings(scanner, text) == []

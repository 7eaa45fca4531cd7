"""The recognizer catalogue loads, and a bad entry is an error that names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from apisight.errors import ConfigError
from apisight.fingerprints import Fingerprinter
from apisight.sensitive import Scanner, load_catalog

EXPECTED = {
    "card_number",
    "card_cvv",
    "card_expiry",
    "us_ssn",
    "iban",
    "aba_routing",
    "swift_bic",
    "bank_account",
    "uk_nino",
    "ca_sin",
    "es_dni",
    "email",
    "phone",
    "date_of_birth",
    "postal_address",
    "password",
    "api_secret",
    "jwt",
    "bearer_token",
    "aws_access_key",
    "stripe_key",
    "github_token",
    "slack_token",
    "google_api_key",
    "private_key",
    "url_credentials",
    "ip_address",
}


def test_builtin_catalogue() -> None:
    catalog = load_catalog()
    assert set(catalog.names) == EXPECTED
    assert all(r.severity for r in catalog.recognizers)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "{name: x, patterns: [{name: p, regex: 'a'}], validator: nope}",
            "recognizer x: .*unknown validator 'nope'",
        ),
        ("{name: y, patterns: [{name: p, regex: '(a'}]}", "recognizer y: .*regex does not compile"),
        (
            "{name: z, context_required: true, patterns: [{name: p, regex: 'a'}]}",
            "recognizer z: .*need field_hints",
        ),
        ("{name: w, patterns: [{name: p, regex: 'a'}], mask: nope}", "recognizer w: .*unknown mask"),
        ("{name: v, patterns: [], field_hints: [Bad Hint]}", "recognizer v: "),
    ],
)
def test_bad_entry_is_named(tmp_path: Path, entry: str, message: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(f"recognizers:\n  - {entry}\n")
    with pytest.raises(ConfigError, match=message):
        load_catalog(path)


def test_select_unknown_type_lists_known() -> None:
    with pytest.raises(ConfigError, match="unknown sensitive-data type.*known: card_number"):
        load_catalog().select(["card_numbr"])


def test_hyperscan_refusal_names_the_pattern(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("recognizers:\n  - {name: big, patterns: [{name: p, regex: 'x[a-z]{100,5000}'}]}\n")
    with pytest.raises(ConfigError, match="big.p"):
        Scanner(Fingerprinter(b"k" * 32), load_catalog(path))


@pytest.mark.parametrize(
    ("key", "hinted"),
    [
        ("card_number", True),
        ("cardNumber", True),
        ("CARD-NUMBER", True),
        ("payee_card_number", True),
        ("cardnumber", True),
        ("pan", True),
        ("span", False),
        ("company", False),
        ("card_id", False),
    ],
)
def test_hint_rule(key: str, hinted: bool) -> None:
    cards = next(r for r in load_catalog().recognizers if r.name == "card_number")
    assert cards.hinted_by(key) is hinted

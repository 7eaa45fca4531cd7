"""Validators' shortcuts against the library calls they stand in for."""

from __future__ import annotations

import datetime as dt
import random
import re
import string

import pytest
from stdnum import iban as std_iban
from stdnum.exceptions import ValidationError
from stdnum.iso7064 import mod_97_10

from apisight.sensitive import validators

CTX = validators.Context()


def _outcome(check, value: str) -> tuple[str, str]:
    try:
        return "ok", check(value)
    except ValidationError as e:
        return "error", type(e).__name__


def _ibans_of_every_country(per_country: int = 20) -> list[str]:
    """Valid IBANs built from stdnum's own country registry, then broken in every usual way."""
    rng = random.Random(7)
    chars = {"n": string.digits, "a": string.ascii_uppercase, "c": string.ascii_uppercase + string.digits}
    out = []
    for _, low, _, props, _ in std_iban._ibandb.prefixes:
        for _ in range(per_country):
            bban = "".join(
                rng.choice(chars[kind])
                for n, kind in re.findall(r"(\d+)!?([nac])", props.get("bban", ""))
                for _ in range(int(n))
            )
            good = low + mod_97_10.calc_check_digits(bban + low) + bban
            i = rng.randrange(len(good))
            out += [
                good,
                " ".join(good[k : k + 4] for k in range(0, len(good), 4)),
                good.lower(),
                good[:i] + rng.choice(string.ascii_uppercase + string.digits) + good[i + 1 :],
                good[:-1],
                good + "7",
            ]
    return out


@pytest.mark.parametrize(
    "value",
    [
        "GB82WEST12345698765432",
        "GB82 WEST 1234 5698 7654 32",
        "gb82-west-1234-5698-7654-32",
        "GB82.WEST.1234",
        "XX82WEST12345698765432",  # no such country
        "GB82WEST1234569876543",  # one short
        "GB00WEST12345698765432",  # checksum
        "",
        "G",
        "GB",
        "\u2010GB82WEST12345698765432",  # a Unicode dash stdnum cleans
        "GB82WEST1234569876543\uff12",  # a full-width digit
    ],
)
def test_iban_shortcut_matches_stdnum_on_edge_cases(value: str) -> None:
    assert _outcome(validators._iban_validate, value) == _outcome(std_iban.validate, value)


def test_iban_shortcut_matches_stdnum_for_every_country() -> None:
    values = _ibans_of_every_country()
    mismatches = [
        v for v in values if _outcome(validators._iban_validate, v) != _outcome(std_iban.validate, v)
    ]
    assert mismatches == []
    assert sum(std_iban.is_valid(v) for v in values) > len(values) // 3  # the table is not all invalid


@pytest.mark.parametrize("check", [validators.us_ssn_check, validators.aba_routing, validators.ca_sin_check])
@pytest.mark.parametrize(
    "value", ["536-22-1234", "536221234", "000-12-3456", "011000015", "046 454 286", "", "x"]
)
def test_stdnum_checks_agree_with_is_valid_and_compact(check, value: str) -> None:
    module = {
        validators.us_ssn_check: validators.us_ssn,
        validators.aba_routing: validators.us_rtn,
        validators.ca_sin_check: validators.ca_sin,
    }[check]
    verdict = check(value, CTX)
    assert verdict.ok == module.is_valid(value)
    if verdict.ok:
        assert verdict.normalized == module.compact(value)


def _birth_date_by_strptime(value: str) -> str | None:
    """The validator as written before its ISO shortcut: strptime for every layout."""
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y%m%d"):
        try:
            day = dt.datetime.strptime(value[:10] if fmt == "%Y-%m-%d" else value, fmt).date()
        except ValueError:
            continue
        if 1900 <= day.year <= dt.date.today().year:
            return day.isoformat()
    return None


def test_birth_dates_read_as_strptime_reads_them() -> None:
    values = [
        f"{year}-{month:02d}-{day:02d}{tail}"
        for year in ("0000", "0001", "1899", "1900", "1984", "2024", "9999")
        for month in range(14)
        for day in range(33)
        for tail in ("", "T10:00:00Z", "x")
    ]
    values += ["1984-1-02", "١٩٨٤-01-02", "02/01/1984", "19840102", "1984-02-30", " 1984-01-02"]
    for value in values:
        verdict = validators.date_of_birth(value, CTX)
        assert (verdict.normalized if verdict.ok else None) == _birth_date_by_strptime(value), value


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("4111111111111111", True),
        ("4111111111111112", False),  # Luhn
        ("9111111111111110", False),  # Luhn-valid, no issuer
        ("447824680014", False),  # a phone number's digits, Luhn-valid by chance
        ("4111 1111 1111 1111", True),
    ],
)
def test_card_checks_issuer_and_luhn_in_either_order(value: str, ok: bool) -> None:
    assert validators.card(value, CTX).ok is ok

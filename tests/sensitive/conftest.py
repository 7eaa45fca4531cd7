"""Shared fixtures: one compiled scanner for the whole session (compiling takes ~0.2 s)."""

from __future__ import annotations

import pytest

from apisight.fingerprints import Fingerprinter
from apisight.sensitive import Scanner

KEY = b"test-fingerprint-key-0123456789abcdef"


@pytest.fixture(scope="session")
def fingerprinter() -> Fingerprinter:
    return Fingerprinter(KEY)


@pytest.fixture(scope="session")
def scanner(fingerprinter: Fingerprinter) -> Scanner:
    return Scanner(fingerprinter)


def findings(scanner: Scanner, text: str, **kwargs: object) -> list[dict]:
    """The findings for one text, as dicts."""
    return scanner.scan([text], **kwargs).to_dicts()


def only(scanner: Scanner, text: str, type_: str) -> list[dict]:
    return [f for f in findings(scanner, text) if f["type"] == type_]

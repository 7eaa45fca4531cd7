"""Pools of realistic, *valid* sensitive values: cards, IBANs, SSNs, phones, names.

Check digits come from python-stdnum, so every value passes the validators a
sensitive-data scanner uses. Pools are built once (thousands of values); traffic
samples them by index.
"""

from __future__ import annotations

import numpy as np
from stdnum import iban, luhn
from stdnum.us import ssn as us_ssn

FIRST_NAMES = (
    "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Ivy", "Leo", "Grace",
    "Arthur", "Freya", "Muhammad", "Lily", "Oscar", "Sophia", "Charlie", "Emily", "Jacob", "Zoë", "José",
    "Łukasz", "Aoife", "Chloé", "Mateo", "Priya", "Wei", "Fatima", "Lukas", "Hannah", "Mohammed", "Sara",
)
LAST_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Müller",
    "Schmidt", "Dubois", "García", "Nowak", "O'Brien", "Khan", "Singh", "Chen", "Murphy", "Kowalski",
)
STREETS = ("High", "Station", "Church", "Victoria", "Park", "Mill", "King", "Queen", "London", "Manor")
STREET_KINDS = ("Street", "Road", "Lane", "Avenue", "Close")
CITIES = (
    ("London", "SW1A"), ("Manchester", "M1"), ("Leeds", "LS1"), ("Bristol", "BS1"), ("Glasgow", "G1"),
    ("Cardiff", "CF10"), ("Belfast", "BT1"), ("Edinburgh", "EH1"), ("Birmingham", "B1"), ("York", "YO1"),
)
MERCHANT_BRANDS = (
    "Corner Grocer", "Bean There Coffee", "Metro Books", "Fresh Fields", "Pixel Electronics", "Urban Threads",
    "Fuel Stop", "Green Pharmacy", "City Cinema", "Sunny Travel", "Bike Hub", "Home & Garden",
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example")

#: (brand, prefixes, length) of card schemes with real issuer identification numbers.
CARD_SCHEMES = (
    ("visa", ("4539", "4556", "4916", "4532", "4929"), 16),
    ("mastercard", ("51", "52", "53", "54", "55", "2221", "2720"), 16),
    ("amex", ("34", "37"), 15),
    ("discover", ("6011", "65"), 16),
)


def _digits(rng: np.random.Generator, n: int) -> str:
    return "".join(map(str, rng.integers(0, 10, n)))


def card_numbers(rng: np.random.Generator, n: int) -> tuple[list[str], list[str]]:
    """``n`` Luhn-valid card numbers with real issuer prefixes, and their brands."""
    pans, brands = [], []
    weights = np.array([0.55, 0.33, 0.08, 0.04])
    for scheme in rng.choice(len(CARD_SCHEMES), size=n, p=weights):
        brand, prefixes, length = CARD_SCHEMES[scheme]
        body = prefixes[rng.integers(len(prefixes))]
        body += _digits(rng, length - 1 - len(body))
        pans.append(body + luhn.calc_check_digit(body))
        brands.append(brand)
    return pans, brands


def _fr_rib_key(bank: str, branch: str, account: str) -> str:
    return f"{97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97:02d}"


def ibans(rng: np.random.Generator, n: int, countries: tuple[str, ...] = ("GB",)) -> list[str]:
    """``n`` IBANs with valid mod-97 check digits (GB, DE or FR layouts)."""
    out = []
    for cc in rng.choice(countries, size=n):
        if cc == "GB":
            bban = "DEMO" + _digits(rng, 14)
        elif cc == "DE":
            bban = _digits(rng, 18)
        elif cc == "FR":
            bank, branch, account = _digits(rng, 5), _digits(rng, 5), _digits(rng, 11)
            bban = bank + branch + account + _fr_rib_key(bank, branch, account)
        else:
            raise ValueError(f"unsupported IBAN country {cc}")
        out.append(cc + iban.calc_check_digits(cc + "00" + bban) + bban)
    return out


def ssns(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` US SSNs following the area/group/serial rules (no 000, 666, 9xx areas)."""
    out: list[str] = []
    while len(out) < n:
        area, group, serial = rng.integers(1, 900), rng.integers(1, 100), rng.integers(1, 10_000)
        value = f"{area:03d}-{group:02d}-{serial:04d}"
        if us_ssn.is_valid(value):
            out.append(value)
    return out


def phones(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` E.164 mobile numbers (mostly UK, some DE, FR and US)."""
    kinds = rng.choice(4, size=n, p=[0.7, 0.1, 0.1, 0.1])
    out = []
    for kind in kinds:
        if kind == 0:
            out.append("+447" + _digits(rng, 9))
        elif kind == 1:
            out.append("+4915" + str(rng.integers(1, 10)) + _digits(rng, 8))
        elif kind == 2:
            out.append("+336" + _digits(rng, 8))
        else:
            out.append("+1" + str(rng.integers(201, 990)) + "555" + _digits(rng, 4))
    return out


def dates_of_birth(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` ISO dates of birth between 1945 and 2006."""
    days = rng.integers(np.datetime64("1945-01-01").astype(int), np.datetime64("2006-12-31").astype(int), n)
    return [str(d) for d in days.astype("datetime64[D]")]


def people(rng: np.random.Generator, n: int) -> dict[str, list[str]]:
    """Names, e-mail addresses and postal addresses for ``n`` people."""
    first = rng.choice(FIRST_NAMES, n)
    last = rng.choice(LAST_NAMES, n)
    numbers = rng.integers(1, 200, n)
    streets = rng.choice(STREETS, n)
    kinds = rng.choice(STREET_KINDS, n)
    cities = rng.integers(0, len(CITIES), n)
    domains = rng.choice(EMAIL_DOMAINS, n)
    out: dict[str, list[str]] = {"first_name": [], "last_name": [], "name": [], "email": [], "address": []}
    for i in range(n):
        city, postcode = CITIES[cities[i]]
        local = f"{_ascii(first[i])}.{_ascii(last[i])}{i}".lower()
        out["first_name"].append(str(first[i]))
        out["last_name"].append(str(last[i]))
        out["name"].append(f"{first[i]} {last[i]}")
        out["email"].append(f"{local}@{domains[i]}")
        out["address"].append(f"{numbers[i]} {streets[i]} {kinds[i]}, {city} {postcode} {rng.integers(1, 10)}AB")
    return out


def _ascii(text: str) -> str:
    table = str.maketrans({"ë": "e", "é": "e", "Ł": "L", "ü": "u", "í": "i", "'": ""})
    return str(text).translate(table)


def passwords(rng: np.random.Generator, n: int, length: int = 12) -> list[str]:
    """``n`` random passwords of letters and digits (JSON-safe)."""
    alphabet = np.array(list("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"))
    picks = alphabet[rng.integers(0, len(alphabet), (n, length))]
    return ["".join(row) for row in picks]


def hex_ids(rng: np.random.Generator, n: int, uuid: bool = True) -> list[str]:
    """``n`` random 128-bit ids as hex, in UUID layout (version 4 bits set) by default."""
    raw = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    if uuid:
        raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
        raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    text = raw.tobytes().hex()
    ids = [text[i * 32 : (i + 1) * 32] for i in range(n)]
    if not uuid:
        return ids
    return [f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" for h in ids]

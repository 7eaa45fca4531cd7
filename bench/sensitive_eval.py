"""Sensitive-data scanner quality: precision/recall per type, look-alike false positives, contenders.

    python bench/sensitive_eval.py                      # 20,000 demo records (~40,000 bodies, ~3.7 MB)
    python bench/sensitive_eval.py --records 5000 --json
    python bench/sensitive_eval.py --no-presidio        # apisight and the naive scanner only

Data. ``apisight.demo.demo_frames(seed, scale=records / 100_000)``: every host's
baseline traffic, request and response bodies as one list (set **A**). Ground truth is
built without the scanner: each body that starts with ``{``/``[`` is parsed with
``json``, every scalar leaf is taken with its key, and a leaf is a true value of a type
when its key is one the demo generator fills with that type (``KEYS`` below, read from
``apisight/demo/endpoints.py``) *and* it passes an independent check (python-stdnum
Luhn / mod-97 IBAN / SSN area-group-serial / ABA checksum, ``phonenumbers`` possible
number, ISO date, a strict e-mail regex, …). Non-JSON bodies (the partner token form)
carry no labels.

Set **B** is a copy of A in which every JSON-object body gets extra top-level fields:
4 of the 10 look-alike kinds (``LOOKALIKES``: order numbers, 10/13-digit timestamps,
amounts, minor-unit amounts, UPS 1Z and FedEx 12/15-digit tracking numbers, UUIDs,
16-digit internal ids that fail Luhn, phone-like numeric customer refs) under
non-sensitive keys, and with probability 0.1 a valid ABA routing number under
``routing_number`` (the demo has none: the only labelled ``aba_routing`` values).

Scores. Value level, per (body, type): a finding is a true positive when its span
text, normalised (``norm``: digits for cards/SSN/routing/phone/DOB, upper-case
alphanumerics for IBAN, lower-case for e-mail, stripped text otherwise), equals a
ground-truth value of that type in that body. Precision = TP / distinct (body, type,
normalised value) found; recall = ground-truth values found / ground-truth values.
P/R are on set A, except ``aba_routing`` (set B). "P on B" is precision on B, where
look-alike hits count against it. A look-alike false positive is a finding on B whose
normalised text lies inside an injected look-alike value of that body (and is no
ground-truth value); counted per look-alike kind, every type reported counts (one
value hit as two types counts twice). "P / R (its types)" is micro-averaged over the
labelled types a contender has at all (Presidio has no DOB, password, expiry,
address or JWT recognizer; the naive scanner no expiry, address or JWT).

Contenders, timed on one core (process pinned to CPU 0, Polars one thread), MB/s of
body text (UTF-8 bytes of set A, nulls excluded): apisight's ``Scanner.scan`` (best of
``--repeat`` on a fresh scanner, with content types); a naive ``json`` + ``re``
scanner (``naive_scan``: walk JSON leaves, one simple regex per type, stdnum Luhn /
IBAN / ABA checks); Microsoft Presidio's pattern recognizers (``presidio-analyzer``,
``AnalyzerEngine`` with ``NoOpNlpEngine``, so no spaCy model; spaCy NER recognizer
removed; ``AbaRoutingRecognizer`` added; entities limited to ``PRESIDIO_TYPES``;
``score_threshold`` ``--presidio-threshold``) on the first ``--presidio-bodies``
an even sample of ``--presidio-bodies`` bodies (every k-th) of A and of B, because it runs at well under 1 MB/s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

os.environ.setdefault("POLARS_MAX_THREADS", "1")
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {0})

import numpy as np
import phonenumbers
import polars as pl
from rich.console import Console
from rich.table import Table
from stdnum import iban as std_iban
from stdnum import luhn
from stdnum.us import rtn as std_rtn
from stdnum.us import ssn as std_ssn

from apisight.demo import demo_frames
from apisight.fingerprints import Fingerprinter
from apisight.sensitive import Scanner

KEY = b"bench-fingerprint-key-0123456789abcdef"
OUT = Path(__file__).resolve().parent / "out" / "sensitive_eval.json"
CHECKSUM_TYPES = ("card_number", "iban", "us_ssn", "aba_routing")

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def _phone_ok(v: str) -> bool:
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(v, None))
    except phonenumbers.NumberParseException:
        return False


def _date_ok(v: str) -> bool:
    try:
        date.fromisoformat(v)
        return True
    except ValueError:
        return False


#: type -> (JSON keys the demo fills with it, an independent check of the value)
KEYS = {
    "card_number": ({"pan"}, lambda v: v.isdigit() and luhn.is_valid(v)),
    "iban": ({"iban", "payee_iban", "Identification"}, std_iban.is_valid),
    "us_ssn": ({"ssn"}, std_ssn.is_valid),
    "aba_routing": ({"routing_number"}, std_rtn.is_valid),
    "email": ({"email", "username", "user"}, lambda v: bool(_EMAIL.fullmatch(v))),
    "phone": ({"phone"}, _phone_ok),
    "date_of_birth": ({"date_of_birth", "dob"}, _date_ok),
    "password": ({"password"}, bool),
    "card_expiry": ({"expiry"}, lambda v: bool(re.fullmatch(r"(0[1-9]|1[0-2])/\d{2}", v))),
    "postal_address": ({"address"}, lambda v: len(v) >= 6),
    "jwt": ({"access_token"}, lambda v: v.count(".") == 2 and v.startswith("eyJ")),
}
TARGETS = {t: 0.99 if t in CHECKSUM_TYPES else 0.95 for t in KEYS}

#: Presidio entity -> our type (entities not listed are not requested)
PRESIDIO_TYPES = {
    "CREDIT_CARD": "card_number",
    "IBAN_CODE": "iban",
    "US_SSN": "us_ssn",
    "ABA_ROUTING_NUMBER": "aba_routing",
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "US_BANK_NUMBER": "bank_account",
    "US_ITIN": "us_itin",
    "US_PASSPORT": "us_passport",
    "US_DRIVER_LICENSE": "us_driver_license",
    "UK_NHS": "uk_nhs",
}


def norm(type_: str, text: str) -> str:
    if type_ in ("card_number", "us_ssn", "aba_routing", "phone", "date_of_birth", "bank_account"):
        return re.sub(r"\D", "", text)
    if type_ == "iban":
        return re.sub(r"[^0-9A-Za-z]", "", text).upper()
    if type_ == "email":
        return text.strip().lower()
    return text.strip().strip('"')


# --- data -------------------------------------------------------------------------------


def _leaves(node: object, out: list[tuple[str | None, str]], key: str | None = None) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            _leaves(v, out, k)
    elif isinstance(node, list):
        for v in node:
            _leaves(v, out, key)
    elif node is not None and not isinstance(node, bool):
        out.append((key, str(node)))


def truth_of(bodies: list[str | None]) -> set[tuple[int, str, str]]:
    truth = set()
    for row, body in enumerate(bodies):
        if not body or body[:1] not in "{[":
            continue
        pairs: list[tuple[str | None, str]] = []
        _leaves(json.loads(body), pairs)
        for key, value in pairs:
            for type_, (keys, check) in KEYS.items():
                if key in keys and check(value):
                    truth.add((row, type_, norm(type_, value)))
    return truth


def _digits(rng: np.random.Generator, n: int) -> str:
    return "".join(map(str, rng.integers(0, 10, n)))


def _lookalike(kind: str, rng: np.random.Generator) -> str:
    """One value of ``kind`` as JSON text."""
    if kind == "order_number":
        if rng.random() < 0.5:
            return f'"{rng.integers(1, 10)}{_digits(rng, 11)}"'
        return f'"{_digits(rng, 3)}-{_digits(rng, 7)}-{_digits(rng, 7)}"'  # Amazon style
    if kind == "timestamp_s":
        return str(int(rng.integers(1_500_000_000, 1_800_000_000)))
    if kind == "timestamp_ms":
        return str(int(rng.integers(1_500_000_000_000, 1_800_000_000_000)))
    if kind == "amount":
        return f"{rng.lognormal(5, 2):.2f}"
    if kind == "amount_minor":
        return str(int(rng.integers(1_000_000, 9_999_999_999)))
    if kind == "tracking_ups":
        alnum = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
        shipper = "".join(alnum[i] for i in rng.integers(0, len(alnum), 6))
        return f'"1Z{shipper}{rng.choice(["01", "02", "03", "12"])}{_digits(rng, 8)}"'
    if kind == "tracking_fedex":
        return f'"{rng.integers(1, 10)}{_digits(rng, 11 if rng.random() < 0.5 else 14)}"'
    if kind == "uuid":
        h = rng.integers(0, 256, 16, dtype=np.uint8).tobytes().hex()
        return f'"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"'
    if kind == "internal_id16":
        body = str(rng.choice(["4", "5", "3", "6", "1", "9"])) + _digits(rng, 14)
        return f'"{body}{(int(luhn.calc_check_digit(body)) + 1 + int(rng.integers(0, 9))) % 10}"'
    if kind == "phone_like_ref":
        if rng.random() < 0.5:
            return f'"{rng.integers(2, 10)}{_digits(rng, 9)}"'  # 10 digits, NANP-like
        return f'"07{_digits(rng, 9)}"'  # 11 digits, UK-mobile-like
    raise ValueError(kind)


#: look-alike kind -> the (non-sensitive) JSON key it is injected under
LOOKALIKES = {
    "order_number": "order_number",
    "timestamp_s": "created_ts",
    "timestamp_ms": "event_time_ms",
    "amount": "total",
    "amount_minor": "amount_minor",
    "tracking_ups": "tracking_number",
    "tracking_fedex": "fedex_tracking",
    "uuid": "trace_id",
    "internal_id16": "internal_ref",
    "phone_like_ref": "customer_ref",
}


def with_lookalikes(
    bodies: list[str | None], seed: int
) -> tuple[list[str | None], dict[int, list[tuple[str, str]]], Counter]:
    """Set B: bodies with look-alike fields; per row the (kind, value) injected; counts per kind."""
    rng = np.random.default_rng([seed, 99])
    kinds = list(LOOKALIKES)
    out: list[str | None] = []
    injected: dict[int, list[tuple[str, str]]] = {}
    counts: Counter = Counter()
    for row, body in enumerate(bodies):
        if not body or not body.startswith("{") or not body.endswith("}") or body == "{}":
            out.append(body)
            continue
        fields, mine = [], []
        for k in rng.choice(len(kinds), 4, replace=False):
            kind = kinds[int(k)]
            value = _lookalike(kind, rng)
            fields.append(f'"{LOOKALIKES[kind]}":{value}')
            mine.append((kind, value.strip('"')))
            counts[kind] += 1
        if rng.random() < 0.1:
            base = _digits(rng, 8)
            fields.append(f'"routing_number":"{base}{std_rtn.calc_check_digit(base)}"')
        out.append(body[:-1] + "," + ",".join(fields) + "}")
        injected[row] = mine
    return out, injected, counts


# --- contenders -------------------------------------------------------------------------


def apisight_scan(bodies: list[str | None], content_types: list[str | None]) -> list[tuple[int, str, str]]:
    found = Scanner(Fingerprinter(KEY)).scan(pl.Series(bodies, dtype=pl.String), content_types=content_types)
    return _apisight_spans(bodies, found)


def _apisight_spans(bodies: list[str | None], found: pl.DataFrame) -> list[tuple[int, str, str]]:
    out, cache = [], {}
    for row, type_, start, end in found.select("row", "type", "start", "end").iter_rows():
        raw = cache.get(row)
        if raw is None:
            raw = cache[row] = (bodies[row] or "").encode()
        out.append((row, type_, raw[start:end].decode("utf-8", "replace")))
    return out


_N_CARD = re.compile(r"\b\d{13,19}\b")
_N_IBAN = re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b")
_N_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_N_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_N_PHONE = re.compile(r"(?<![\w+])\+?\d[\d -]{8,13}\d\b")
_N_ROUTING = re.compile(r"\b\d{9}\b")
_N_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


NAIVE_TYPES = ("card_number", "iban", "us_ssn", "email", "phone", "aba_routing", "date_of_birth", "password")


def naive_scan(
    bodies: list[str | None], content_types: list[str | None] | None = None
) -> list[tuple[int, str, str]]:
    """What people write first: walk the JSON, one regex per type, stdnum checks."""
    out = []
    append = out.append
    for row, body in enumerate(bodies):
        if not body:
            continue
        pairs: list[tuple[str | None, str]] = []
        try:
            _leaves(json.loads(body), pairs)
        except ValueError:
            pairs = [(None, body)]
        for key, v in pairs:
            k = (key or "").lower()
            for m in _N_CARD.finditer(v):
                if luhn.is_valid(m.group()):
                    append((row, "card_number", m.group()))
            for m in _N_IBAN.finditer(v):
                if std_iban.is_valid(m.group()):
                    append((row, "iban", m.group()))
            for m in _N_SSN.finditer(v):
                append((row, "us_ssn", m.group()))
            for m in _N_EMAIL.finditer(v):
                append((row, "email", m.group()))
            for m in _N_PHONE.finditer(v):
                append((row, "phone", m.group()))
            for m in _N_ROUTING.finditer(v):
                if std_rtn.is_valid(m.group()):
                    append((row, "aba_routing", m.group()))
            if "birth" in k or k == "dob":
                for m in _N_DATE.finditer(v):
                    append((row, "date_of_birth", m.group()))
            if "password" in k and v:
                append((row, "password", v))
    return out


def presidio_engine(threshold: float):
    """Presidio's pattern recognizers without any NLP model; raises ImportError when absent."""
    import logging

    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    from presidio_analyzer.predefined_recognizers import AbaRoutingRecognizer

    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    nlp.load()
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(nlp_engine=nlp)
    registry.recognizers = [r for r in registry.recognizers if type(r).__name__ != "SpacyRecognizer"]
    if not any(isinstance(r, AbaRoutingRecognizer) for r in registry.recognizers):
        registry.add_recognizer(AbaRoutingRecognizer())
    engine = AnalyzerEngine(
        registry=registry, nlp_engine=nlp, supported_languages=["en"], default_score_threshold=threshold
    )
    engine.analyze('{"warm":"up a.b@example.com +14155550123"}', language="en")  # tldextract, caches
    return engine


def presidio_scan(engine, bodies: list[str | None], rows: list[int]) -> list[tuple[int, str, str]]:
    entities = list(PRESIDIO_TYPES)
    out = []
    for row in rows:
        body = bodies[row]
        if not body:
            continue
        for r in engine.analyze(body, language="en", entities=entities):
            out.append((row, PRESIDIO_TYPES[r.entity_type], body[r.start : r.end]))
    return out


# --- scoring ----------------------------------------------------------------------------


def scores(found: list[tuple[int, str, str]], truth: set[tuple[int, str, str]]) -> dict[str, dict]:
    got = {(r, t, norm(t, s)) for r, t, s in found}
    out = {}
    for type_ in sorted({t for _, t, _ in got} | {t for _, t, _ in truth}):
        g = {x for x in got if x[1] == type_}
        t = {x for x in truth if x[1] == type_}
        tp = len(g & t)
        out[type_] = {
            "truth": len(t),
            "found": len(g),
            "tp": tp,
            "precision": tp / len(g) if g else None,
            "recall": tp / len(t) if t else None,
        }
    return out


def lookalike_fps(
    found: list[tuple[int, str, str]],
    truth: set[tuple[int, str, str]],
    injected: dict[int, list[tuple[str, str]]],
) -> dict[str, dict[str, int]]:
    """Per look-alike kind: how many findings (by type) landed inside an injected value."""
    fps: dict[str, Counter] = defaultdict(Counter)
    seen = set()
    for row, type_, span in found:
        n = norm(type_, span)
        if not n or (row, type_, n) in truth or (row, type_, n) in seen:
            continue
        digits = re.sub(r"\D", "", span)
        for kind, value in injected.get(row, ()):
            vd = re.sub(r"\D", "", value)
            if n in value or n in value.upper() or (digits and len(digits) >= 6 and digits in vd):
                fps[kind][type_] += 1
                seen.add((row, type_, n))
                break
    return {k: dict(v) for k, v in fps.items()}


# --- main -------------------------------------------------------------------------------


def _mb(bodies: list[str | None]) -> float:
    return sum(len(b.encode()) for b in bodies if b) / 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=20_000, help="demo requests (2 bodies each)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3, help="apisight timing: best of N")
    ap.add_argument(
        "--presidio-bodies", type=int, default=8000, help="Presidio runs on an even sample of about N bodies"
    )
    ap.add_argument("--presidio-threshold", type=float, default=0.4)
    ap.add_argument("--no-presidio", action="store_true")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    t_all = time.perf_counter()

    frames = demo_frames(seed=args.seed, scale=args.records / 100_000)
    df = pl.concat(list(frames.values()), how="diagonal_relaxed")
    bodies_a: list[str | None] = df["request_body"].to_list() + df["response_body"].to_list()
    ctypes: list[str | None] = df["request_content_type"].to_list() + df["response_content_type"].to_list()
    bodies_b, injected, injected_counts = with_lookalikes(bodies_a, args.seed)
    truth_a, truth_b = truth_of(bodies_a), truth_of(bodies_b)
    mb_a = _mb(bodies_a)

    contenders: dict[str, dict] = {}

    # apisight: best of --repeat, each on a fresh scanner (no validation memo carried over)
    series_a = pl.Series(bodies_a, dtype=pl.String)
    best, found = float("inf"), None
    for _ in range(args.repeat):
        scanner = Scanner(Fingerprinter(KEY))
        t = time.perf_counter()
        found = scanner.scan(series_a, content_types=ctypes)
        best = min(best, time.perf_counter() - t)
    assert found is not None
    contenders["apisight"] = {
        "bodies": len(bodies_a),
        "mb": mb_a,
        "seconds": best,
        "a": _apisight_spans(bodies_a, found),
        "b": apisight_scan(bodies_b, ctypes),
        "supports": set(KEYS),
    }

    t = time.perf_counter()
    naive_a = naive_scan(bodies_a)
    contenders["naive json+re"] = {
        "bodies": len(bodies_a),
        "mb": mb_a,
        "seconds": time.perf_counter() - t,
        "a": naive_a,
        "b": naive_scan(bodies_b),
        "supports": set(NAIVE_TYPES),
    }

    presidio_note = None
    if args.no_presidio:
        presidio_note = "skipped (--no-presidio)"
    else:
        try:
            import presidio_analyzer

            engine = presidio_engine(args.presidio_threshold)
            # an even sample: every stride-th body (requests and responses of every host)
            stride = max(1, -(-len(bodies_a) // args.presidio_bodies))
            rows = list(range(0, len(bodies_a), stride))
            t = time.perf_counter()
            pa = presidio_scan(engine, bodies_a, rows)
            contenders["presidio (patterns)"] = {
                "bodies": len(rows),
                "mb": _mb([bodies_a[r] for r in rows]),
                "seconds": time.perf_counter() - t,
                "a": pa,
                "b": presidio_scan(engine, bodies_b, rows),
                "subset": f"every {stride}th body",
                "rows": set(rows),
                "supports": set(PRESIDIO_TYPES.values()),
                "version": presidio_analyzer.__version__
                if hasattr(presidio_analyzer, "__version__")
                else None,
            }
        except Exception as e:  # noqa: BLE001 - not installed, or needs a model: report and go on
            presidio_note = f"not run: {type(e).__name__}: {e}"

    results: dict[str, dict] = {}
    for name, c in contenders.items():
        keep = c.get("rows")
        ta = {x for x in truth_a if keep is None or x[0] in keep}
        tb = {x for x in truth_b if keep is None or x[0] in keep}
        sa, sb = scores(c["a"], ta), scores(c["b"], tb)
        per_type = {}
        for type_ in sorted(set(sa) | set(sb)):
            empty = {"truth": 0, "found": 0, "tp": 0, "precision": None, "recall": None}
            row = dict(sb[type_]) if type_ == "aba_routing" and type_ in sb else dict(sa.get(type_, empty))
            if type_ == "aba_routing":
                row["set"] = "B"
            row["precision_b"] = sb.get(type_, {}).get("precision")
            per_type[type_] = row
        labelled = [t for t in KEYS if t in per_type and t in c["supports"]]
        tp = sum(per_type[t].get("tp", 0) for t in labelled)
        fnd = sum(per_type[t].get("found", 0) for t in labelled)
        tru = sum(per_type[t].get("truth", 0) for t in labelled)
        results[name] = {
            "bodies": c["bodies"],
            "body_mb": round(c["mb"], 3),
            "seconds": round(c["seconds"], 4),
            "mb_s": round(c["mb"] / c["seconds"], 2) if c["seconds"] else None,
            "per_type": per_type,
            "supports": sorted(t for t in KEYS if t in c["supports"]),
            "labelled_micro": {"precision": tp / fnd if fnd else None, "recall": tp / tru if tru else None},
            "lookalike_fps": lookalike_fps(
                c["b"], tb, {r: v for r, v in injected.items() if keep is None or r in keep}
            ),
            **({"subset_bodies": c["subset"], "version": c["version"]} if "subset" in c else {}),
        }
    base = results["apisight"]["mb_s"]
    for r in results.values():
        r["speed_vs_apisight"] = round(r["mb_s"] / base, 4) if r["mb_s"] and base else None
    injected_sub = {
        name: dict(
            Counter(
                k for row, v in injected.items() if c.get("rows") is None or row in c["rows"] for k, _ in v
            )
        )
        for name, c in contenders.items()
    }

    report = {
        "command": " ".join(["python", "bench/sensitive_eval.py", *sys.argv[1:]]),
        "records": args.records,
        "seed": args.seed,
        "bodies": len(bodies_a),
        "body_mb": round(mb_a, 3),
        "truth_per_type": dict(Counter(t for _, t, _ in truth_a)),
        "truth_aba_routing_b": sum(1 for x in truth_b if x[1] == "aba_routing"),
        "injected_lookalikes": dict(injected_counts),
        "injected_per_contender": injected_sub,
        "targets": TARGETS,
        "presidio": presidio_note,
        "presidio_threshold": args.presidio_threshold,
        "cpus": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "contenders": results,
        "total_s": round(time.perf_counter() - t_all, 1),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2, default=str))
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    _print(report)
    return 0


def _f(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def _print(rep: dict) -> None:
    console = Console(width=None if sys.stdout.isatty() else 200)
    res = rep["contenders"]
    speed = Table(
        title=f"Throughput, one core: {rep['bodies']:,} bodies, {rep['body_mb']:.1f} MB of body text"
    )
    for col in (
        "contender",
        "bodies",
        "MB",
        "seconds",
        "MB/s",
        "× apisight",
        "P (its types)",
        "R (its types)",
    ):
        speed.add_column(col, justify="left" if col == "contender" else "right")
    for name, r in res.items():
        speed.add_row(
            name,
            f"{r['bodies']:,}",
            f"{r['body_mb']:.2f}",
            f"{r['seconds']:.3f}",
            f"{r['mb_s']:.2f}",
            f"{r['speed_vs_apisight']:.4f}",
            _f(r["labelled_micro"]["precision"]),
            _f(r["labelled_micro"]["recall"]),
        )
    console.print(speed)
    if rep["presidio"]:
        console.print(f"Presidio: {rep['presidio']}")

    types = [t for t in KEYS]
    extra = sorted({t for r in res.values() for t in r["per_type"]} - set(types))
    pr = Table(
        title="Precision / recall per type (set A; aba_routing on set B); P on B counts look-alike hits"
    )
    pr.add_column("type")
    pr.add_column("truth", justify="right")
    pr.add_column("target", justify="right")
    for name in res:
        pr.add_column(f"{name}\nP / R / P on B", justify="right")
    for t in types + extra:
        truth = next((r["per_type"][t]["truth"] for r in res.values() if t in r["per_type"]), 0)
        cells = []
        for r in res.values():
            d = r["per_type"].get(t)
            if t in KEYS and t not in r["supports"]:
                cells.append("no such type")
            elif not d or d.get("found") is None:
                cells.append("not reported")
            elif not d["truth"]:
                cells.append(f"{d['found']} found, unlabelled")
            else:
                cells.append(f"{_f(d['precision'])} / {_f(d['recall'])} / {_f(d['precision_b'])}")
        pr.add_row(t, f"{truth:,}", f"{TARGETS[t]:.2f}" if t in TARGETS else "", *cells)
    console.print(pr)

    la = Table(
        title="False positives on look-alikes (set B): findings inside injected values / values injected"
    )
    la.add_column("look-alike kind")
    la.add_column("JSON key")
    for name in res:
        la.add_column(name, justify="right")
    for kind, key in LOOKALIKES.items():
        cells = []
        for name, r in res.items():
            hit = r["lookalike_fps"].get(kind, {})
            n_inj = rep["injected_per_contender"][name].get(kind, 0)
            detail = ", ".join(f"{t} {c}" for t, c in sorted(hit.items()))
            cells.append(f"{sum(hit.values())} / {n_inj:,}" + (f" ({detail})" if detail else ""))
        la.add_row(kind, key, *cells)
    console.print(la)
    console.print(f"Figures: {OUT}  ·  total {rep['total_s']} s  ·  {rep['command']}")


if __name__ == "__main__":
    sys.exit(main())

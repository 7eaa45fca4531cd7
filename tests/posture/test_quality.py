"""Posture quality on the demo, end to end: every planted weakness found, no clean look-alike flagged.

The demo bank plants at least one weakness for every check and keeps a close look-alike
clean elsewhere (``labels/posture.jsonl``); the traffic is analysed exactly as
``apisight demo`` does and the stored findings are scored with
:func:`apisight.demo.posture.scoring.score` (what ``bench/posture_eval.py`` reports at
several seeds and scales).
"""

from __future__ import annotations

from typing import Any

import pytest

from apisight.demo import bank, generate_demo
from apisight.demo.analysis import demo_request
from apisight.demo.posture import read_labels
from apisight.demo.posture.labels import CLEAN, endpoint_shape
from apisight.demo.posture.scoring import describe, score
from apisight.demo.scenarios.probing import BFLA_PROBES
from apisight.pipeline import analyze
from apisight.posture.checks import names
from apisight.store import Catalog
from apisight.store.findings import load_findings

CHECKS = names()

#: Clean look-alikes that checks used to flag (limitations of the checks found by the posture
#: evaluation, since fixed), each asserted clean on its own so a regression names its cause.
FORMERLY_FLAGGED: dict[tuple[str, str, str, str], str] = {
    ("bola_prone_ids", bank.INTERNAL_HOST, "GET", "/internal/v1/customers/{}"): "internal callers are no principals",
    ("bola_prone_ids", bank.INTERNAL_HOST, "GET", "/internal/v1/accounts/{}/ledger"):
        "internal callers are no principals",
    ("credentials_in_url", bank.RETAIL_HOST, "GET", "/v2/card-lookup"): "a masked card number is no credential",
    ("zombie_endpoint", bank.RETAIL_HOST, "GET", "/v1/accounts"): "retired: 410 Gone to every call",
    **{("shadow_endpoint", bank.RETAIL_HOST, method, endpoint_shape(path)): f"only ever answered {status}: a probe"
       for method, path, status, *_ in BFLA_PROBES if status in (404, 405)},
}


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("posture-quality")
    manifest = generate_demo(out / "input", seed=7, scale=0.5)
    root = out / "data"
    assert manifest.posture_labels is not None
    summary = analyze(demo_request(manifest, root))
    assert summary["findings"]["failed"] == {}
    labels = read_labels(manifest.posture_labels)
    catalog = Catalog(root, read_only=True)
    try:
        scored = score(load_findings(catalog.db), labels)
    finally:
        catalog.close()
    scored["clean_keys"] = {label.key() for label in labels if label.expected == CLEAN}
    return scored


def _key(check: str, entry: dict[str, Any]) -> tuple[str, str, str, str]:
    return check, entry["host"], entry["method"], endpoint_shape(entry["path"])


@pytest.mark.parametrize("check", CHECKS)
def test_every_planted_weakness_is_found(scored: dict[str, Any], check: str) -> None:
    row = scored["checks"][check]
    assert row["planted"] >= 1
    assert row["missed"] == [], f"{check} missed: " + "; ".join(describe(m) for m in row["missed"])


@pytest.mark.parametrize("check", CHECKS)
def test_no_clean_look_alike_is_flagged(scored: dict[str, Any], check: str) -> None:
    row = scored["checks"][check]
    assert row["clean"] >= 1
    assert row["flagged"] == [], f"{check} flagged: " + "; ".join(describe(f) for f in row["flagged"])


@pytest.mark.parametrize("key", [pytest.param(k, id=f"{k[0]}:{k[2]} {k[3]}") for k in FORMERLY_FLAGGED])
def test_formerly_flagged_look_alikes_are_clean(scored: dict[str, Any], key: tuple[str, str, str, str]) -> None:
    assert key in scored["clean_keys"], "the demo no longer labels it a clean look-alike"
    flagged = {_key(key[0], f) for f in scored["checks"][key[0]]["flagged"]}
    assert key not in flagged, f"{key[0]} flags it again; it should be clean: {FORMERLY_FLAGGED[key]}"

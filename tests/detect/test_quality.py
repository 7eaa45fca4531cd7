"""Detection quality on the labelled demo, end to end: every attack found, no look-alike alerted.

The demo bank's traffic (three days, seeded) carries labelled attacks for every
detector and deliberately noisy benign look-alikes; it is analysed exactly as
``apisight demo`` does and scored with :mod:`apisight.detect.evaluation` (the scoring
``bench/detect_eval.py`` uses at several seeds and scales).
"""

from __future__ import annotations

import pytest

from apisight.demo import generate_demo
from apisight.demo.analysis import demo_request
from apisight.detect.evaluation import evaluate
from apisight.pipeline import analyze

DETECTORS = ("credential_stuffing", "brute_force", "account_takeover", "bola", "scraping", "abnormal_volume", "bfla",
             "error_probing")


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("quality")
    manifest = generate_demo(out / "input", seed=11, scale=0.5)
    root = out / "data"
    analyze(demo_request(manifest, root))
    return evaluate(root, manifest.labels)


@pytest.mark.parametrize("detector", DETECTORS)
def test_every_labelled_attack_is_found_and_every_alert_is_one(scored, detector):
    row = scored["detectors"][detector]
    assert row["scenarios"] >= 1
    assert row["missed"] == [], f"{detector} missed {row['missed']}"
    assert row["false"] == [], f"{detector} raised false alerts: {row['false']}"
    assert max(row["ttd_s"]) < 4 * 3600  # raised while the attack was going on, not at the end of the data


def test_benign_look_alikes_raise_nothing_and_the_rollout_is_an_api_change(scored):
    assert scored["benign_hits"] == []
    assert scored["false_alerts"] == 0
    assert scored["rollout_recorded_as_api_change"]
    assert scored["other_api_changes"] == []  # no endpoint's ordinary wobble recorded as a change

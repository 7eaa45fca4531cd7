"""Score stored posture findings against the demo's posture labels.

A finding *matches* a label when check, host and method are the same and the paths are
the same once parameter names are dropped (discovery names parameters from the traffic).
Per check: planted weaknesses found (and the ones missed), clean look-alikes flagged, and
findings on endpoints that no label mentions ("unlabelled"): neither right nor wrong, but
worth reading.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import polars as pl

from apisight.demo.posture.labels import CLEAN, FINDING, PostureLabel, endpoint_shape


def describe(entry: dict[str, Any]) -> str:
    """One line for a missed, flagged or unlabelled entry of :func:`score`."""
    where = f"{entry['host']} (whole host)" if entry["method"] == "*" else f"{entry['method']} {entry['host']}{entry['path']}"
    severity = f" [{entry['severity']}]" if entry.get("severity") else ""
    why = f": {entry['why']}" if entry.get("why") else ""
    return where + severity + why


def score(findings: pl.DataFrame, labels: list[PostureLabel]) -> dict[str, Any]:
    """Per check: planted / found / missed, clean / flagged, and unlabelled findings.

    ``findings`` has the columns of ``store.findings.load_findings`` (``check``, ``host``,
    ``method``, ``path``, ``severity``); pass open findings only. Missed, flagged and
    unlabelled entries are dicts with host, method, path, severity (of the finding) and why
    (of the label).
    """
    found: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    if findings.height:
        for row in findings.select("check", "host", "method", "path", "severity").iter_rows(named=True):
            found[(row["check"], row["host"], row["method"], endpoint_shape(row["path"]))] = row
    per: dict[str, dict[str, Any]] = defaultdict(lambda: {"planted": 0, "found": 0, "missed": [], "clean": 0,
                                                          "flagged": [], "unlabelled": [], "findings": 0})
    labelled = set()
    for label in labels:
        row = per[label.check]
        labelled.add(label.key())
        hit = found.get(label.key())
        entry = {"host": label.host, "method": label.method, "path": label.template,
                 "severity": hit["severity"] if hit else None, "why": label.why}
        if label.expected == FINDING:
            row["planted"] += 1
            row["found"] += hit is not None
            if hit is None:
                row["missed"].append(entry)
        elif label.expected == CLEAN:
            row["clean"] += 1
            if hit is not None:
                row["flagged"].append(entry)
    for key, hit in sorted(found.items()):
        per[key[0]]["findings"] += 1
        if key not in labelled:
            per[key[0]]["unlabelled"].append({"host": hit["host"], "method": hit["method"], "path": hit["path"],
                                              "severity": hit["severity"], "why": None})
    return {
        "checks": dict(sorted(per.items())),
        "planted": sum(r["planted"] for r in per.values()),
        "found": sum(r["found"] for r in per.values()),
        "clean": sum(r["clean"] for r in per.values()),
        "flagged": sum(len(r["flagged"]) for r in per.values()),
        "unlabelled": sum(len(r["unlabelled"]) for r in per.values()),
    }

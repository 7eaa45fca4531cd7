"""Which of a batch's accepted findings to keep where they overlap in one text.

The scanner's accepted candidates arrive as columns (:class:`Found`); per text,
overlapping findings keep the most confident (then earlier-declared, longer) one,
greedily. Pairs — nearly every overlap — are decided on whole arrays; only larger
clusters are ranked in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from apisight.sensitive.catalog import Recognizer
from apisight.sensitive.validators import Verdict


@dataclass(slots=True)
class Outcome:
    """What one distinct candidate came to: every column of its findings but place and path."""

    order: int  # the recognizer's position: breaks ties between overlapping findings
    rec: Recognizer
    pattern: str
    verdict: Verdict
    value: str
    confidence: float
    preview: tuple[str, str | None] | None = None  # (masked, fingerprint), filled for the frame


@dataclass(slots=True)
class Found:
    """Accepted candidates of one batch, as columns; ``vid`` indexes ``outcomes``."""

    row: np.ndarray
    start: np.ndarray  # absolute offsets in the buffer
    end: np.ndarray
    expr: np.ndarray
    vid: np.ndarray
    outcomes: list[Outcome]
    names: dict[int, str | None]  # field name before an absolute offset, as key_before gave it


def resolve_overlaps(found: Found, min_confidence: float) -> np.ndarray:
    """Indexes into ``found`` of the findings kept, in (row, start) order.

    Per text, overlapping findings keep the most confident (then earlier-declared, longer)
    one, greedily. Offsets are absolute in the joined buffer, so rows occupy increasing,
    disjoint ranges: a running maximum of ends over the (row, start)-sorted findings splits
    them into clusters that overlap nothing outside themselves, so greedy choices in one
    cluster never touch another. A cluster of two (nearly all: ``+4420…`` seen as two phone
    shapes, an ``access_token`` as a secret and a JWT) keeps its better-ranked finding,
    decided on whole arrays; larger clusters are ranked in Python.
    """
    if not len(found.vid):
        return found.vid
    confidence = np.array([o.confidence for o in found.outcomes], dtype=np.float64)[found.vid]
    idx = np.flatnonzero(confidence >= min_confidence)
    # (row, start), then the expression: the order candidates were validated in
    idx = idx[np.lexsort((found.expr[idx], found.start[idx], found.row[idx]))]
    if len(idx) < 2:
        return idx
    starts, ends = found.start[idx], found.end[idx]
    reach = np.maximum.accumulate(ends)
    opens = np.ones(len(idx), dtype=bool)
    opens[1:] = starts[1:] >= reach[:-1]
    if opens.all():
        return idx
    order = np.array([o.order for o in found.outcomes], dtype=np.int64)[found.vid]
    rank = (-confidence, order, found.start - found.end)
    if (starts == ends).any():
        # an empty span (only a custom field pattern can give one) overlaps nothing, so a
        # cluster need not be pairwise overlapping: rank whole rows, as written
        bad = np.isin(found.row[idx], np.unique(found.row[idx][~opens]))
        kept = _greedy(idx[bad], found.row[idx[bad]], rank, found)
        out = np.concatenate((idx[~bad], kept))
        return out[np.lexsort((found.start[out], found.row[out]))]
    cluster = np.cumsum(opens) - 1
    size = np.bincount(cluster)[cluster]
    keep = size == 1
    # a pair overlaps: the first stays unless the second ranks strictly higher (ties keep order)
    first = np.flatnonzero(opens & (size == 2))
    a, b = idx[first], idx[first + 1]
    b_wins = _lex_less(tuple(r[b] for r in rank), tuple(r[a] for r in rank))
    keep[first] = ~b_wins
    keep[first + 1] = b_wins
    big = size > 2
    out = np.concatenate((idx[keep], _greedy(idx[big], cluster[big], rank, found)))
    return out[np.lexsort((found.start[out], found.row[out]))]


def _lex_less(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> np.ndarray:
    """Element-wise ``a < b`` for tuples of arrays compared key by key."""
    less = np.zeros(len(a[0]), dtype=bool)
    equal = np.ones(len(a[0]), dtype=bool)
    for x, y in zip(a, b):
        less |= equal & (x < y)
        equal &= x == y
    return less


def _greedy(idx: np.ndarray, group: np.ndarray, rank: tuple[np.ndarray, ...], found: Found) -> np.ndarray:
    """Per group, the best-ranked findings that overlap nothing taken before, in rank order.

    ``idx`` is in (row, start, expression) order, so the stable sort breaks rank ties by it.
    """
    if not len(idx):
        return idx
    keys = list(zip(*(r[idx].tolist() for r in rank)))
    spans_of = list(zip(found.start[idx].tolist(), found.end[idx].tolist(), group.tolist()))
    taken: dict[int, list[tuple[int, int]]] = {}
    kept = []
    for k in sorted(range(len(idx)), key=keys.__getitem__):
        s, e, g = spans_of[k]
        spans = taken.setdefault(g, [])
        if any(s < te and ts < e for ts, te in spans):
            continue
        spans.append((s, e))
        kept.append(k)
    return idx[np.array(kept, dtype=np.int64)]

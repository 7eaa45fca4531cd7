"""Canonical event frames for detector tests, and one detector run the way the engine runs it.

``events()`` makes a frame with every :data:`~apisight.events.EVENT_SCHEMA` column (plus
``template``) from a few keywords, each a scalar or one value per event. Clear secrets
given as ``username``, ``token`` or ``api_key`` become what normalisation keeps (keyed
fingerprints), and a login's clear name and password go into its request body, so a
test can check that none of them reaches a candidate. ``run()`` builds the detection
frame, folds it into a fresh :class:`~apisight.detect.state.DetectionState` and calls
``det.rows`` then ``det.detect`` with the engine's :class:`~apisight.detect.detector.Context`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from apisight.config import DetectSettings, RoleRule
from apisight.detect import geo
from apisight.detect.detector import CANDIDATE_SCHEMA, Context, Detector
from apisight.detect.episodes import episodes
from apisight.detect.features import build
from apisight.detect.registry import enabled_detectors
from apisight.detect.roles import endpoint_roles
from apisight.detect.state import DetectionState
from apisight.events import EVENT_SCHEMA, conform
from apisight.fingerprints import Fingerprinter

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
HOST = "api.bank.example"
PASSWORD = "Tr0ub4dor&3-clear"  # in every login body: must never reach a candidate
LEARNING = timedelta(hours=24)  # DetectSettings.learning_hours default

FINGERPRINT = Fingerprinter(b"apisight-detect-tests-key-0123456789")
_SEQ = itertools.count()

_DEFAULTS: dict[str, Any] = {
    "source": "test", "host": HOST, "scheme": "https", "method": "GET", "path": "/v2/accounts", "status": 200,
    "latency_ms": 20.0, "request_bytes": 0, "response_bytes": 512, "client_ip": "198.51.100.10",
    "client_zone": "external", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "auth_scheme": "none",
}


def fp(value: str) -> str:
    """The keyed fingerprint normalisation would keep for ``value``."""
    return FINGERPRINT(value)


def key_id(key: str) -> str:
    """The ``api_key_id`` normalisation derives from a clear API key."""
    return "key_" + fp(key)[:12]


def _is_seq(value: Any) -> bool:
    return not isinstance(value, str | bytes) and hasattr(value, "__len__")


def events(n: int | None = None, *, tag: str = "e", start: float = 0.0, every: float = 1.0,
           **columns: Any) -> pl.DataFrame:
    """``n`` events; each keyword is one value for all of them or a sequence of ``n`` values.

    ``ts`` is seconds after :data:`T0` (or datetimes); by default ``start + i * every``.
    ``template`` defaults to the path. ``username``, ``token`` and ``api_key`` are clear
    values, turned into ``login_fp`` (plus a JSON login body), a bearer ``credential_fp``,
    and ``api_key_id``. Event ids are ``<tag>-<n>``, unique across the test session.
    """
    lengths = {len(v) for v in columns.values() if _is_seq(v)}
    if len(lengths) > 1:
        raise ValueError(f"columns of different lengths: {sorted(lengths)}")
    n = n if n is not None else (lengths.pop() if lengths else 1)
    data = {k: (list(v) if _is_seq(v) else [v] * n) for k, v in {**_DEFAULTS, **columns}.items()}
    if any(len(v) != n for v in data.values()):
        raise ValueError(f"every sequence must have {n} values")

    ts = data.pop("ts", None) or [start + i * every for i in range(n)]
    data["ts"] = [t if isinstance(t, datetime) else T0 + timedelta(seconds=float(t)) for t in ts]
    data["event_id"] = [f"{tag}-{next(_SEQ)}" for _ in range(n)]
    data.setdefault("template", data["path"])

    names = data.pop("username", None)
    if names is not None:
        data["login_fp"] = [fp(u.lower()) if u is not None else None for u in names]
        data.setdefault("request_body", [json.dumps({"username": u, "password": PASSWORD}) if u is not None
                                         else None for u in names])
    tokens = data.pop("token", None)
    keys = data.pop("api_key", None)
    if tokens is not None or keys is not None:
        tokens = tokens or [None] * n
        keys = keys or [None] * n
        data["credential_fp"] = [fp(t) if t else fp(k) if k else None for t, k in zip(tokens, keys, strict=True)]
        data["api_key_id"] = [key_id(k) if k else None for k in keys]
        data["auth_scheme"] = ["bearer" if t else "api_key" if k else s
                               for t, k, s in zip(tokens, keys, data["auth_scheme"], strict=True)]

    unknown = set(data) - set(EVENT_SCHEMA) - {"template"}
    if unknown:
        raise ValueError(f"not event columns: {sorted(unknown)}")
    schema = {k: EVENT_SCHEMA.get(k, pl.String()) for k in data}
    frame = pl.DataFrame(data, schema=schema, strict=False)
    return conform(frame, {**EVENT_SCHEMA, "template": pl.String()})


def concat(*frames: pl.DataFrame) -> pl.DataFrame:
    return pl.concat(frames, how="vertical")


def features(frame: pl.DataFrame, rules: Iterable[RoleRule] = ()) -> pl.DataFrame:
    """The detection frame, with templates from the frame's (host, method, path, template) and inferred roles."""
    templates = frame.select(pl.col("host").fill_null(""), "method", "path", "template").unique()
    endpoints = templates.select("host", "method", pl.col("template").alias("path")).unique()
    return build(conform(frame, EVENT_SCHEMA), templates, endpoint_roles(endpoints, list(rules)))


def detector(name: str, **options: Any) -> Detector:
    """The registered detector ``name`` with ``options`` validated by its settings model."""
    (det,) = [d for d in enabled_detectors(DetectSettings.model_construct(detectors={name: options})) if d.name == name]
    return det


def run(det: Detector | str, frame: pl.DataFrame, *, rules: Iterable[RoleRule] = (),
        learning: timedelta = LEARNING) -> pl.DataFrame:
    """One detector's candidates over ``frame``, as one engine micro-batch yields them."""
    det = detector(det) if isinstance(det, str) else det
    feats = features(frame, rules)
    state = DetectionState()
    state.absorb(feats)
    ctx = Context(watermark=state.watermark, learning=learning, devices=state.devices,  # type: ignore[arg-type]
                  hourly=state.hourly, owners=state.owners, geo=geo.available())
    rows = det.rows(feats)
    if rows.height == 0:
        return pl.DataFrame(schema=CANDIDATE_SCHEMA)
    return det.detect(rows, ctx).select(list(CANDIDATE_SCHEMA)).cast(CANDIDATE_SCHEMA)  # type: ignore[arg-type]


def alerts(det: Detector | str, frame: pl.DataFrame, **kwargs: Any) -> list[dict[str, Any]]:
    """The run's candidates merged into episodes (one per entity and burst), with ``evidence`` parsed."""
    det = detector(det) if isinstance(det, str) else det
    merged = episodes(run(det, frame, **kwargs), det.horizon)
    out = merged.sort("entity_kind", "entity", "first_seen").to_dicts()
    for a in out:
        a["evidence"] = json.loads(a["evidence"])
    return out


def entities(found: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(a["entity_kind"], a["entity"]) for a in found}


def leaked(found: list[dict[str, Any]] | pl.DataFrame, *secrets: str) -> list[str]:
    """The clear ``secrets`` that appear anywhere in the output."""
    text = found.write_json() if isinstance(found, pl.DataFrame) else json.dumps(found, default=str)
    return [s for s in secrets if s and s in text]

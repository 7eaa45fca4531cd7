"""What a detector is, the windows they share, and how their candidates look.

A detector (one module under ``detect/detectors``, registered in the
``apisight.detectors`` entry-point group) keeps the rows of the detection frame it
needs (:meth:`Detector.rows`), for as long as its longest window plus the allowed
lateness, and turns them into *candidates*: one row per entity and window whose
behaviour crosses its thresholds (:data:`CANDIDATE_SCHEMA`). The engine merges a
detector's overlapping candidates into one alert per episode.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator

from apisight.events import TIMESTAMP

SAMPLES = 5

CANDIDATE_SCHEMA: dict[str, pl.DataType] = {
    "entity_kind": pl.String(),
    "entity": pl.String(),
    "first_seen": TIMESTAMP,
    "last_seen": TIMESTAMP,
    "detected_at": TIMESTAMP,  # when a streaming run would have raised it (end of the first firing window)
    "events": pl.Int64(),
    "score": pl.Float64(),  # strength, to pick the window that describes an episode
    "confidence": pl.Float64(),
    "severity": pl.String(),
    "endpoints": pl.List(pl.String()),
    "sample_event_ids": pl.List(pl.String()),
    "related": pl.List(pl.String()),  # other entities involved, as "kind:value"
    "limits": pl.List(pl.String()),  # what the sources did not show
    "evidence": pl.String(),  # JSON object
    "summary": pl.String(),
}


class DetectorOptions(BaseModel):
    """Settings every detector has; each detector adds its thresholds."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    severity: str = Field(default="high", pattern="^(critical|high|medium|low)$")
    window_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)
    roles: list[str] | None = Field(default=None, description="endpoint roles it watches (default: its own)")

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, value: list[str] | None) -> list[str] | None:
        from apisight.detect.roles import ROLES

        unknown = sorted(set(value or []) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown role(s) {', '.join(unknown)} (known: {', '.join(ROLES)})")
        return value


@dataclass
class Context:
    """What detectors may read besides their rows."""

    watermark: datetime  # newest event time seen so far
    learning: timedelta  # history an entity needs before its own baseline counts
    devices: pl.DataFrame  # principal, ip_net, user_agent, asn, country, first_seen, last_seen
    hourly: pl.DataFrame  # client_kind, client, hour, events
    owners: pl.DataFrame  # host, template, object_id, owner (the principal first served it), last_seen
    geo: bool  # whether country/AS are known
    notes: dict[str, Any] = field(default_factory=dict)


class Detector(ABC):
    """Base class: subclasses set the class attributes and implement :meth:`detect`."""

    name: ClassVar[str]
    title: ClassVar[str]
    owasp: ClassVar[tuple[str, ...]]
    mitre: ClassVar[tuple[str, ...]]
    roles: ClassVar[tuple[str, ...] | None] = None  # rows of these roles only (None: all)
    columns: ClassVar[tuple[str, ...]] = ()  # the frame columns it keeps besides ts and event_id
    suppress_on_shift: ClassVar[bool] = False  # drop candidates explained by an endpoint-wide shift
    generic: ClassVar[bool] = False  # yields to a specific detector on the same entity and time
    settings_model: ClassVar[type[DetectorOptions]] = DetectorOptions

    def __init__(self, options: DetectorOptions) -> None:
        self.options = options

    @property
    def horizon(self) -> timedelta:
        """How long its rows are kept: its longest window."""
        return timedelta(minutes=self.options.window_minutes)

    @property
    def watched_roles(self) -> tuple[str, ...] | None:
        """The roles whose endpoints it reads: configured (``roles``), else its own."""
        return tuple(self.options.roles) if self.options.roles else self.roles

    def rows(self, frame: pl.DataFrame) -> pl.DataFrame:
        roles = self.watched_roles
        if roles is not None:
            frame = frame.filter(pl.col("role").is_in(roles))
        return frame.select("ts", "event_id", *self.columns)

    @abstractmethod
    def detect(self, rows: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        """Candidates (:data:`CANDIDATE_SCHEMA`) from the kept rows plus the batch."""


#: Window rows (the sum of all windows' sizes) :func:`sliding` evaluates in one rolling
#: pass. Aggregations such as ``unique`` copy each window's rows, so the memory of a pass
#: grows with its window rows; past this, the groups are evaluated a part at a time, each
#: part's groups holding about :data:`PART_ROWS` window rows (one busier group is a part
#: of its own).
WINDOW_ROWS = 8_000_000
PART_ROWS = 4_000_000


def sliding(rows: pl.DataFrame, by: list[str], minutes: int, aggs: list[pl.Expr], *,
            encode: Sequence[str] = ()) -> pl.DataFrame:
    """Event-time sliding windows: for each row, the ``minutes`` up to it, per ``by`` group.

    One window per row (ending at that row's time), so a threshold is seen crossed at
    the record that crossed it — what a streaming run would do. Each window has
    ``window_start``, ``window_end``, ``events``, ``first_seen``, ``last_seen``,
    ``sample_event_ids`` and the ``aggs``. Rows with a null key are left out. When the
    windows hold more than :data:`WINDOW_ROWS` rows together, they are evaluated a
    part at a time (:func:`_sliding_in_parts`), with the same result.

    An aggregation is evaluated on each window's rows, so one that derives a value per
    row (a concatenation, a cast) repeats that for every window a row is in: derive such
    columns on ``rows`` first (as :data:`ENDPOINT`, added here). ``encode`` names string
    columns the aggregations only count, compare or collect (no string functions, no
    casts): they go into the windows as categoricals, so ``n_unique``, ``unique`` and the
    copies each window makes work on 32-bit codes (2-3 times faster on busy clients), and
    come out as strings again. The endpoint is always encoded.
    """
    rows = rows.drop_nulls(by)
    if rows.height == 0:
        return pl.DataFrame()
    if any("_endpoint" in agg.meta.root_names() for agg in aggs):
        rows = rows.with_columns(ENDPOINT)
    encoded = [c for c in dict.fromkeys(["_endpoint", *encode]) if c in rows.columns and c not in by]
    rows = rows.with_columns(pl.col(encoded).cast(pl.Categorical))
    rows = rows.sort("ts")
    period = f"{minutes}m"
    aggs = [pl.len().alias("events"), pl.col("ts").min().alias("first_seen"),
            pl.col("event_id").tail(SAMPLES).alias("sample_event_ids"), *aggs]
    windows = None
    # a group of n rows has windows of at most n rows each: most calls need no closer look
    if int((rows.group_by(by).len()["len"].cast(pl.Int64) ** 2).sum()) > WINDOW_ROWS:
        indexed = rows.with_row_index("_r")
        sizes = indexed.rolling("ts", period=period, group_by=by, closed="both").agg(
            pl.len().alias("_n"), pl.col("_r").max().alias("_last"))
        if int(sizes["_n"].sum()) > WINDOW_ROWS:
            windows = _sliding_in_parts(indexed, by, period, sizes, aggs)
    if windows is None:
        windows = rows.rolling("ts", period=period, group_by=by, closed="both").agg(*aggs)
    return _decoded(windows).with_columns(pl.col("ts").alias("last_seen"), pl.col("ts").alias("window_end"),
                                (pl.col("ts") - pl.duration(minutes=minutes)).alias("window_start")).drop("ts")


def _decoded(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its categorical columns (and lists of them) as strings."""
    casts: dict[str, pl.DataType] = {}
    for name, dtype in frame.schema.items():
        if dtype == pl.Categorical:
            casts[name] = pl.String()
        elif isinstance(dtype, pl.List) and dtype.inner == pl.Categorical:
            casts[name] = pl.List(pl.String)
    return frame.cast(casts) if casts else frame  # type: ignore[arg-type]


def _sliding_in_parts(indexed: pl.DataFrame, by: list[str], period: str, sizes: pl.DataFrame,
                      aggs: list[pl.Expr]) -> pl.DataFrame:
    """The rolling windows of ``indexed`` (sorted by time, row number ``_r``), one rolling
    pass per part of its groups.

    ``sizes`` is the rolling output with each window's size ``_n`` and its last row
    ``_last`` (the rows of one group and time share one window). Groups are packed into
    parts of about :data:`PART_ROWS` window rows; groups are independent, so each part's
    windows are whole. The result keeps the rolling output's rows and order.
    """
    pairs = sizes.group_by(by).agg(pl.col("_n").cast(pl.Int64).sum().alias("_pairs")).with_columns(
        ((pl.col("_pairs").cum_sum() - pl.col("_pairs")) // PART_ROWS).alias("_part"))
    parts = indexed.join(pairs.select(*by, "_part"), on=by, how="left", nulls_equal=True, maintain_order="left")
    found = [part.rolling("ts", period=period, group_by=by, closed="both")
             .agg(*aggs, pl.col("_r").max().alias("_last")).unique("_last", maintain_order=True).drop(*by, "ts")
             for part in parts.partition_by("_part", maintain_order=True)]
    return (sizes.select(*by, "ts", "_last").join(pl.concat(found), on="_last", how="left", maintain_order="left")
            .drop("_last"))


def busy(rows: pl.DataFrame, by: list[str], at_least: float, flag: str | None = None,
         minutes: int | None = None) -> pl.DataFrame:
    """Rows of the groups that can reach ``at_least`` rows (or rows where ``flag`` is true)
    within ``minutes`` — all kept rows when ``minutes`` is None.

    A sliding window can only cross a count threshold in such a group, so the costly
    windows run over these rows only. With ``minutes``, counts are taken in buckets of
    half a window: any window lies within two adjacent buckets, so a group whose
    adjacent-bucket sums all stay below the threshold cannot fire.
    """
    if rows.height == 0:
        return rows
    measure = pl.len() if flag is None else pl.col(flag).cast(pl.UInt32).sum()
    if minutes is None:
        return rows.filter(measure.over(by) >= at_least)
    bucket = pl.col("ts").dt.truncate(f"{max(1, minutes * 30)}s").alias("_bucket")
    counts = rows.drop_nulls(by).group_by(*by, bucket).agg(measure.alias("_n")).sort("_bucket")
    step = timedelta(seconds=max(1, minutes * 30))
    counts = counts.with_columns(
        (pl.col("_n") + pl.when(pl.col("_bucket").shift(-1).over(by) == pl.col("_bucket") + step)
         .then(pl.col("_n").shift(-1).over(by)).otherwise(0)).alias("_pair"))
    hot = counts.filter(pl.col("_pair") >= at_least).select(by).unique()
    return rows.join(hot, on=by, how="semi", nulls_equal=False)


def distinct(values: pl.Expr) -> pl.Expr:
    """``values.drop_nulls().n_unique()``, for :func:`sliding`'s aggregations.

    In a window, ``drop_nulls`` copies the rows of every window that holds a null, so its
    memory is the sum of those windows' sizes (quadratic in a busy client's rate); this
    keeps the column flat and takes the null off the count instead (and is no slower).
    """
    return values.n_unique() - values.is_null().any().cast(pl.UInt32)


#: A row's endpoint as ``METHOD template``: :func:`sliding` adds it when an aggregation reads it.
ENDPOINT = (pl.col("method") + " " + pl.col("template")).alias("_endpoint")


def endpoint_list(limit: int = 5) -> pl.Expr:
    """The windows' endpoints as ``METHOD template`` strings, from the ``_endpoint`` column
    (:data:`ENDPOINT`): built once per row, where the expression inside a window would be
    built again for every window the row is in."""
    return pl.col("_endpoint").unique(maintain_order=True).head(limit).alias("endpoints")


def candidates(frame: pl.DataFrame, *, entity_kind: pl.Expr | str, entity: pl.Expr | str, score: pl.Expr,
               confidence: pl.Expr | float, severity: pl.Expr | str, evidence: list[str],
               summary: pl.Expr, related: pl.Expr | None = None, limits: list[str] | None = None) -> pl.DataFrame:
    """Firing windows in :data:`CANDIDATE_SCHEMA` shape (``evidence``: the columns shown to analysts)."""
    if frame.height == 0:
        return pl.DataFrame(schema=CANDIDATE_SCHEMA)

    def expr(v: pl.Expr | str | float) -> pl.Expr:
        return v if isinstance(v, pl.Expr) else pl.lit(v)

    return frame.select(
        expr(entity_kind).cast(pl.String).alias("entity_kind"),
        (pl.col(entity) if isinstance(entity, str) else entity).cast(pl.String).alias("entity"),
        "first_seen", "last_seen",
        pl.min_horizontal("window_end", "last_seen").alias("detected_at"),
        pl.col("events").cast(pl.Int64),
        score.cast(pl.Float64).alias("score"),
        expr(confidence).cast(pl.Float64).round(2).alias("confidence"),
        expr(severity).cast(pl.String).alias("severity"),
        pl.col("endpoints").cast(pl.List(pl.String)) if "endpoints" in frame.columns
        else pl.lit([], pl.List(pl.String)).alias("endpoints"),
        pl.col("sample_event_ids").cast(pl.List(pl.String)),
        (related if related is not None else pl.lit([], pl.List(pl.String))).cast(pl.List(pl.String))
        .alias("related"),
        pl.lit(limits or [], pl.List(pl.String)).alias("limits"),
        pl.struct(evidence).struct.json_encode().alias("evidence"),
        summary.cast(pl.String).alias("summary"),
    )


def no_candidates() -> pl.DataFrame:
    return pl.DataFrame(schema=CANDIDATE_SCHEMA)


def peer_level(column: str, min_peers: int = 20) -> pl.Expr:
    """What an ordinary client reaches (``peer_p95``), over the per-client values of its peers.

    The 95th percentile when there are enough peers; with few, the median.
    """
    return (pl.when(pl.len() >= min_peers).then(pl.col(column).quantile(0.95)).otherwise(pl.col(column).median())
            .alias("peer_p95"))


def against_peers(windows: pl.DataFrame, per_client: pl.DataFrame, key: list[str], column: str) -> pl.DataFrame:
    """``windows`` with ``peer_p95`` and ``peer_clients``: ``column`` of the *other* clients of the same endpoint.

    ``per_client`` has one row per (``key``, ``client``). A client is never its own
    peer, so a lone outlier among few clients is not measured against itself. Computed
    only for the clients present in ``windows`` (the few that crossed the other tests).
    """
    suspects = windows.select(*key, "client").unique()
    peers = (suspects.join(per_client.rename({"client": "_peer", column: "_value"}), on=key)
             .filter(pl.col("_peer") != pl.col("client"))
             .group_by(*key, "client").agg(peer_level("_value"), pl.len().alias("peer_clients")))
    return windows.join(peers, on=[*key, "client"], how="left").with_columns(
        pl.col("peer_clients").fill_null(0))


def ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(0.0)


def tagged(kind: str, column: str) -> pl.Expr:
    """``kind:value`` for each distinct value of a list column (for ``related``)."""
    return pl.col(column).list.eval(pl.lit(kind + ":") + pl.element())

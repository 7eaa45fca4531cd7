"""Abnormal volume: a client sending far more requests than it ever has.

Per client (principal, API key or address), requests in an hour against that client's
own history (the p95 of its hourly counts over the last week), once it has at least
``detect.learning_hours`` of history. Kept per minute, not per event, so state stays
small. Surges shared by most clients of an endpoint (a campaign, a retry storm) are
suppressed by the engine, and so is a surge another detector already explains (the
scraper's or enumerator's volume is part of that alert, not a second one).
"""

from __future__ import annotations

import polars as pl
from pydantic import Field

from apisight.detect.detector import (
    SAMPLES,
    Context,
    Detector,
    DetectorOptions,
    candidates,
    no_candidates,
    sliding,
)


class VolumeOptions(DetectorOptions):
    window_minutes: int = Field(default=60, ge=1)
    min_requests: int = Field(default=150, ge=1, description="requests in the window before a client can be abnormal")
    factor: float = Field(default=5.0, ge=1, description="times the client's own hourly p95")
    min_baseline: float = Field(default=10.0, ge=0, description="hourly floor under the baseline")


class AbnormalVolume(Detector):
    name = "abnormal_volume"
    title = "Abnormal request volume"
    owasp = ("API4:2023",)
    mitre = ("T1498", "T1119")
    suppress_on_shift = True
    generic = True
    settings_model = VolumeOptions

    def rows(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Per client and minute: requests, a few event ids and endpoints."""
        if self.watched_roles is not None:
            frame = frame.filter(pl.col("role").is_in(self.watched_roles))
        return (
            frame.drop_nulls("client")
            .group_by("client_kind", "client", pl.col("ts").dt.truncate("1m"))
            .agg(pl.len().alias("n"), pl.col("event_id").head(2).alias("ids"),
                 (pl.col("method") + " " + pl.col("template")).unique().head(3).alias("eps"))
            .with_columns(pl.col("ids").list.first().alias("event_id"))
            .sort("ts")
        )

    def detect(self, rows: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        o: VolumeOptions = self.options  # type: ignore[assignment]
        rows = rows.filter(pl.col("n").sum().over("client_kind", "client") >= o.min_requests)
        w = sliding(rows, ["client_kind", "client"], o.window_minutes, [
            pl.col("n").sum().alias("requests"),
            pl.col("ids").list.explode(keep_nulls=False, empty_as_null=False).head(SAMPLES).alias("_ids"),
            pl.col("eps").list.explode(keep_nulls=False, empty_as_null=False).unique().head(5).alias("endpoints"),
        ])
        if w.height == 0:
            return no_candidates()
        w = w.filter(pl.col("requests") >= o.min_requests)
        if w.height == 0 or ctx.hourly.height == 0:
            return no_candidates()
        history = (w.select("client_kind", "client", "window_start").unique()
                   .join(ctx.hourly, on=["client_kind", "client"])
                   .group_by("client_kind", "client", "window_start")
                   .agg(pl.col("hour").min().alias("known_since"),
                        pl.col("events").filter(pl.col("hour") < pl.col("window_start") - pl.duration(hours=1))
                        .quantile(0.95).alias("baseline_p95"),
                        (pl.col("hour") < pl.col("window_start") - pl.duration(hours=1)).sum().alias("history_hours")))
        w = w.join(history, on=["client_kind", "client", "window_start"], how="left").with_columns(
            pl.max_horizontal(pl.col("baseline_p95").fill_null(0), pl.lit(o.min_baseline)).alias("baseline"),
        ).with_columns((pl.col("requests") / pl.col("baseline")).round(1).alias("times_baseline"))
        fired = w.filter((pl.col("known_since") <= pl.col("window_start") - ctx.learning)
                         & (pl.col("requests") >= o.factor * pl.col("baseline")))
        return candidates(
            fired.with_columns(pl.col("_ids").alias("sample_event_ids"), pl.col("requests").alias("events")), entity_kind=pl.col("client_kind"),
            entity="client", score=pl.col("times_baseline"),
            confidence=(0.5 + pl.col("times_baseline") / 40).clip(0, 0.9), severity=o.severity,
            evidence=["requests", "baseline", "times_baseline", "history_hours", "window_start", "window_end"],
            summary=pl.format("{} requests in {} min, {}x its usual hourly p95 ({})", pl.col("requests"),
                              pl.lit(o.window_minutes), pl.col("times_baseline"), pl.col("baseline").round(1)),
        )

"""Scraping: one client paging exhaustively through a collection.

Per client and collection endpoint (a list answered page by page): many distinct
pages within a window, covering a contiguous run (page 1, 2, 3, ... — not a user
flicking through a few), and far more than the endpoint's other clients ever page.
"""

from __future__ import annotations

import polars as pl
from pydantic import Field

from apisight.detect.detector import (
    Context,
    Detector,
    DetectorOptions,
    against_peers,
    candidates,
    distinct,
    no_candidates,
    ratio,
    sliding,
)


class ScrapingOptions(DetectorOptions):
    window_minutes: int = Field(default=60, ge=1)
    min_pages: int = Field(default=20, ge=2)
    min_coverage: float = Field(default=0.7, ge=0, le=1, description="share of the page range actually fetched")
    peer_factor: float = Field(default=3.0, ge=1)


class Scraping(Detector):
    name = "scraping"
    title = "Scraping / data harvesting"
    owasp = ("API6:2023", "API4:2023")
    mitre = ("T1213", "T1119")
    roles = ("collection",)
    columns = ("host", "method", "template", "client_kind", "client", "page", "ok", "response_bytes")
    settings_model = ScrapingOptions

    def rows(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Requests for pages of a collection; only page numbers or cursors, not probing payloads."""
        return super().rows(frame.filter(~pl.col("payload") & pl.col("page").str.contains(r"^[A-Za-z0-9_=-]{1,64}$")))

    def detect(self, rows: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        o: ScrapingOptions = self.options  # type: ignore[assignment]
        page = pl.col("_page_number")  # page numbers, cast once per row (see sliding())
        key = ["host", "method", "template"]
        # how far the endpoint's clients ordinarily page: distinct pages per client over the kept rows
        per_client = rows.group_by(*key, "client").agg(pl.col("page").n_unique().alias("pages"))
        paging = rows.filter(pl.col("page").n_unique().over(*key, "client") >= o.min_pages).with_columns(
            pl.col("page").cast(pl.Int64, strict=False).alias("_page_number"))
        w = sliding(paging, [*key, "client_kind", "client"], o.window_minutes, [
            pl.col("page").n_unique().alias("pages"),
            page.max().alias("last_page"),
            (page.max() - page.min()).alias("_span"),
            page.drop_nulls().unique().sort().diff().drop_nulls().min().alias("_step"),  # 1, or 20 for offsets
            page.min().alias("_first"),
            distinct(page).alias("_numeric"),
            pl.col("response_bytes").sum().alias("bytes_returned"),
        ], encode=["page"])
        if w.height == 0:
            return no_candidates()
        # share of the page range actually fetched (numbers only: opaque cursors have no range)
        # offsets step by the page size (0, 20, 40...): a step counts when the values align to it
        step = pl.col("_step").fill_null(1).clip(lower_bound=1)
        step = pl.when(pl.col("_first") % step == 0).then(step).otherwise(1)
        positions = pl.col("_span") / step + 1
        w = w.with_columns(
            pl.when(pl.col("_numeric") >= o.min_pages).then(ratio(pl.col("_numeric"), positions))
            .when(pl.col("_numeric") == 0).then(1.0).otherwise(0.0).round(3).alias("coverage"),
            pl.concat_list(pl.col("method") + " " + pl.col("template")).alias("endpoints"),
        ).filter((pl.col("pages") >= o.min_pages) & (pl.col("coverage") >= o.min_coverage))
        w = against_peers(w, per_client, key, "pages").with_columns(pl.col("peer_p95").fill_null(1.0))
        fired = w.filter(pl.col("pages") >= o.peer_factor * pl.col("peer_p95").clip(lower_bound=1))
        return candidates(
            fired, entity_kind=pl.col("client_kind"), entity="client", score=pl.col("pages"),
            confidence=(0.6 + 0.35 * pl.col("coverage")).clip(0, 0.95), severity=o.severity,
            evidence=["pages", "last_page", "coverage", "bytes_returned", "peer_p95", "peer_clients", "window_start",
                      "window_end"],
            summary=pl.format("{} pages of {} in {} min (coverage {}; peers' p95 {})", pl.col("pages"),
                              pl.col("template"), pl.lit(o.window_minutes), pl.col("coverage"), pl.col("peer_p95")),
        )

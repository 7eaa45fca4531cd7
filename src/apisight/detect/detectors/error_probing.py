"""Error-driven probing: bursts of client errors with unusual inputs from one client.

Fuzzers and injection scanners send many malformed requests and read the errors. Per
client: many 4xx in a short window, most of its requests failing, with injection or
traversal payloads in paths or query strings, or many inputs rejected as invalid
(400/422) across several endpoints. Denials (403/404/405) alone are not probing of
inputs: enumeration and function probing have their own detectors. A surge of
errors that most clients of an endpoint see at once is an API change, not an attack
(suppressed by the engine).
"""

from __future__ import annotations

import polars as pl
from pydantic import Field

from apisight.detect.detector import (
    Context,
    Detector,
    DetectorOptions,
    busy,
    candidates,
    endpoint_list,
    no_candidates,
    ratio,
    sliding,
)

#: Statuses that say the input itself was rejected (malformed, invalid), not access or existence.
INPUT_REJECTED = [400, 413, 414, 415, 422]


class ProbingOptions(DetectorOptions):
    severity: str = Field(default="medium", pattern="^(critical|high|medium|low)$",
                          description="raised to high when the probing caused server errors")
    window_minutes: int = Field(default=10, ge=1)
    min_errors: int = Field(default=30, ge=1)
    min_error_ratio: float = Field(default=0.6, ge=0, le=1)
    min_payloads: int = Field(default=5, ge=1)
    min_endpoints: int = Field(default=5, ge=1, description="distinct endpoints rejecting input, without payloads")
    min_targets: int = Field(default=20, ge=1, description="distinct paths+queries, without payloads")


class ErrorProbing(Detector):
    name = "error_probing"
    title = "Error-driven probing (fuzzing, injection)"
    owasp = ("API8:2023",)
    mitre = ("T1190", "T1595.002")
    columns = ("method", "template", "path", "query", "client_kind", "client", "client_error", "payload", "status")
    suppress_on_shift = True
    settings_model = ProbingOptions

    def detect(self, rows: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        o: ProbingOptions = self.options  # type: ignore[assignment]
        rows = busy(rows, ["client_kind", "client"], o.min_errors, "client_error", o.window_minutes)
        rows = rows.with_columns((pl.col("path") + "?" + pl.col("query").fill_null("")).alias("_target"))
        w = sliding(rows, ["client_kind", "client"], o.window_minutes, [
            pl.col("client_error").sum().alias("errors"),
            pl.col("payload").sum().alias("payloads"),
            (pl.col("status") >= 500).sum().alias("server_errors"),
            pl.col("template").filter(pl.col("client_error")).n_unique().alias("endpoints_erroring"),
            pl.col("status").is_in(INPUT_REJECTED).sum().alias("input_rejected"),
            pl.col("template").filter(pl.col("status").is_in(INPUT_REJECTED)).n_unique().alias("_rejecting"),
            pl.col("_target").n_unique().alias("targets"),
            endpoint_list(),
        ], encode=["template", "_target"])
        if w.height == 0:
            return no_candidates()
        w = w.with_columns(ratio(pl.col("errors"), pl.col("events")).round(3).alias("error_ratio"))
        fired = w.filter(
            (pl.col("errors") >= o.min_errors) & (pl.col("error_ratio") >= o.min_error_ratio)
            & ((pl.col("payloads") >= o.min_payloads)
               | ((pl.col("input_rejected") >= o.min_errors) & (pl.col("_rejecting") >= o.min_endpoints)
                  & (pl.col("targets") >= o.min_targets)))
        )
        return candidates(
            fired, entity_kind=pl.col("client_kind"), entity="client", score=pl.col("errors"),
            confidence=pl.when(pl.col("payloads") >= o.min_payloads).then(0.9).otherwise(0.7),
            severity=pl.when((pl.col("server_errors") > 0) & pl.lit(o.severity in ("low", "medium")))
            .then(pl.lit("high")).otherwise(pl.lit(o.severity)),
            evidence=["errors", "error_ratio", "payloads", "input_rejected", "server_errors", "endpoints_erroring",
                      "targets",
                      "window_start", "window_end"],
            summary=pl.format("{} client errors in {} min ({} of its requests), {} with injection/traversal payloads, "
                              "over {} endpoints; {} server errors", pl.col("errors"), pl.lit(o.window_minutes),
                              (pl.col("error_ratio") * 100).round(0).cast(pl.Int64).cast(pl.String) + "%",
                              pl.col("payloads"), pl.col("endpoints_erroring"), pl.col("server_errors")),
        )

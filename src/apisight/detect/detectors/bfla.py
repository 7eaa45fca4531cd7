"""Function-level probing (BFLA): ordinary clients calling admin or internal functions,
or unusual methods on known paths.

Per client outside the internal networks: requests to endpoints whose role is
``admin`` (``/admin``, ``/internal``, ``/debug``, actuator, metrics, ...) or answered
405/501 (a method the endpoint does not have), over several distinct functions.
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
    sliding,
)


class BflaOptions(DetectorOptions):
    window_minutes: int = Field(default=60, ge=1)
    min_functions: int = Field(default=3, ge=1, description="distinct admin endpoints or refused methods")


class Bfla(Detector):
    name = "bfla"
    title = "Function-level authorization probing (BFLA)"
    owasp = ("API5:2023",)
    mitre = ("T1595.003", "T1068")
    roles = ("admin",)  # the functions ordinary clients should not call; refused methods count anywhere
    columns = ("method", "template", "client_kind", "client", "client_zone", "status", "ok", "role")
    settings_model = BflaOptions

    def rows(self, frame: pl.DataFrame) -> pl.DataFrame:
        # a refused method — but not OPTIONS/HEAD, which browsers and monitors send on their own
        refused = pl.col("status").is_in([405, 501]) & ~pl.col("method").is_in(["OPTIONS", "HEAD"])
        probing = pl.col("role").is_in(self.watched_roles or ()) | refused
        outside = pl.col("client_zone").is_null() | (pl.col("client_zone") != "internal")
        return frame.filter(probing & outside).select("ts", "event_id", *self.columns)

    def detect(self, rows: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        o: BflaOptions = self.options  # type: ignore[assignment]
        w = sliding(busy(rows, ["client_kind", "client"], o.min_functions, minutes=o.window_minutes), ["client_kind", "client"],
                    o.window_minutes, [
            pl.col("_endpoint").n_unique().alias("functions"),  # ENDPOINT, which sliding() adds
            pl.col("role").is_in(self.watched_roles or ()).sum().alias("admin_calls"),
            pl.col("status").is_in([405, 501]).sum().alias("refused_methods"),
            pl.col("ok").sum().alias("allowed"),
            endpoint_list(8),
        ])
        if w.height == 0:
            return no_candidates()
        fired = w.filter(pl.col("functions") >= o.min_functions)
        return candidates(
            fired, entity_kind=pl.col("client_kind"), entity="client", score=pl.col("functions"),
            confidence=(0.6 + 0.05 * pl.col("functions")).clip(0, 0.95),
            severity=pl.when(pl.col("allowed") > 0).then(pl.lit("critical")).otherwise(pl.lit(o.severity)),
            evidence=["functions", "admin_calls", "refused_methods", "allowed", "window_start", "window_end"],
            summary=pl.format("{} admin/internal functions or unsupported methods tried from outside in {} min; "
                              "{} allowed", pl.col("functions"), pl.lit(o.window_minutes), pl.col("allowed")),
        )

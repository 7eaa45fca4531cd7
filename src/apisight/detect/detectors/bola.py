"""BOLA / object enumeration: one client walking through other people's objects.

Per client (principal, else API key, else address) and object endpoint (a template
with an id parameter): many distinct ids within a window, far more than the
endpoint's other clients touch, *and* many denials (403/404 — probing for ids it may
not read), a dense run of sequential numeric ids, or many objects that history ties to
other principals (each object's owner is the principal first served it; kept in the
detection state).
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

#: What an object id looks like: a number, UUID, slug or opaque token — not free text.
ID_SHAPE = r"^[A-Za-z0-9][A-Za-z0-9._~:-]{0,127}$"


class BolaOptions(DetectorOptions):
    window_minutes: int = Field(default=30, ge=1)
    min_objects: int = Field(default=20, ge=2)
    peer_factor: float = Field(default=3.0, ge=1, description="distinct ids above this many times the peers' p95")
    min_denied_ratio: float = Field(default=0.25, ge=0, le=1)
    min_sequential_density: float = Field(default=0.5, ge=0, le=1)
    min_others_objects: int = Field(default=10, ge=1, description="objects history ties to other principals")


class Bola(Detector):
    name = "bola"
    title = "Object enumeration (BOLA)"
    owasp = ("API1:2023",)
    mitre = ("T1087", "T1213")
    roles = ("object_read", "collection")  # /accounts/{id} and sub-resources /accounts/{id}/transactions
    columns = ("host", "method", "template", "client_kind", "client", "object_id", "status", "ok")
    settings_model = BolaOptions

    def rows(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Requests for objects by id; an injection payload in the id slot is probing, not an id."""
        return super().rows(frame.filter(~pl.col("payload") & pl.col("object_id").str.contains(ID_SHAPE)))

    def detect(self, rows: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        o: BolaOptions = self.options  # type: ignore[assignment]
        rows = rows.filter(pl.col("object_id").is_not_null())
        key = ["host", "method", "template"]
        # what the endpoint's clients ordinarily touch: distinct ids per client over the kept rows
        per_client = rows.group_by(*key, "client").agg(pl.col("object_id").n_unique().alias("objects"))
        numeric = pl.col("_id_number")  # numeric ids, cast once per row (see sliding())
        candidates_rows = rows.filter(pl.col("object_id").n_unique().over(*key, "client") >= o.min_objects)
        # objects that history ties to another principal (the one first served them)
        owners = ctx.owners.select("host", "template", "object_id", "owner")
        candidates_rows = candidates_rows.join(owners, on=["host", "template", "object_id"], how="left").with_columns(
            ((pl.col("client_kind") == "principal") & pl.col("owner").is_not_null()
             & (pl.col("owner") != pl.col("client"))).alias("foreign"),
            pl.col("object_id").cast(pl.Int64, strict=False).alias("_id_number"))
        w = sliding(candidates_rows, [*key, "client_kind", "client"], o.window_minutes, [
            pl.col("object_id").n_unique().alias("objects"),
            pl.col("status").is_in([403, 404]).sum().alias("denied"),  # not 401: an expired token is not probing
            pl.col("ok").sum().alias("served"),
            pl.col("object_id").filter(pl.col("foreign")).n_unique().alias("others_objects"),
            distinct(numeric).alias("_numeric"),
            (numeric.max() - numeric.min() + 1).alias("_span"),
        ], encode=["object_id"])
        if w.height == 0:
            return no_candidates()
        w = w.with_columns(
            ratio(pl.col("denied"), pl.col("events")).round(3).alias("denied_ratio"),
            pl.when(pl.col("_numeric") >= o.min_objects).then(ratio(pl.col("_numeric"), pl.col("_span")))
            .otherwise(0.0).round(3).alias("sequential_density"),
        ).filter(
            (pl.col("objects") >= o.min_objects)
            & ((pl.col("denied_ratio") >= o.min_denied_ratio)
               | (pl.col("sequential_density") >= o.min_sequential_density)
               | (pl.col("others_objects") >= o.min_others_objects))
        )
        w = against_peers(w, per_client, key, "objects").with_columns(pl.col("peer_p95").fill_null(1.0))
        fired = w.filter(
            pl.col("objects") >= o.peer_factor * pl.col("peer_p95").clip(lower_bound=1)
        ).with_columns(pl.concat_list(pl.col("method") + " " + pl.col("template")).alias("endpoints"))
        return candidates(
            fired, entity_kind=pl.col("client_kind"), entity="client", score=pl.col("objects"),
            confidence=(0.55 + 0.4 * pl.max_horizontal("denied_ratio", "sequential_density")).clip(0, 0.97),
            severity=pl.when(pl.col("served") > 0).then(pl.lit("critical")).otherwise(pl.lit(o.severity)),
            evidence=["objects", "denied", "served", "others_objects", "denied_ratio", "sequential_density",
                      "peer_p95", "peer_clients", "window_start", "window_end"],
            summary=pl.format("{} distinct ids of {} in {} min ({}x the p95 of {} peers); {} denied, {} served, "
                              "sequential density {}", pl.col("objects"), pl.col("template"), pl.lit(o.window_minutes),
                              (pl.col("objects") / pl.col("peer_p95").clip(lower_bound=1)).round(1),
                              pl.col("peer_clients"), pl.col("denied"), pl.col("served"),
                              pl.col("sequential_density")),
        )

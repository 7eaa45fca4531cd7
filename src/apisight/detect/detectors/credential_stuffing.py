"""Credential stuffing: many accounts tried, mostly failing, at login and token endpoints.

Two forms. *Concentrated*: one address, network (/24, /64) or API key tries many
distinct account names within minutes. *Distributed* (low and slow): hundreds of
addresses, a few tries each, sharing a user agent, whose failure rate is far above the
endpoint's. Without request bodies the account names are unknown: the concentrated
form then needs more attempts and failures, and the alert says what it could not see.
"""

from __future__ import annotations

from datetime import timedelta

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
    tagged,
)

NO_USERNAMES = "no account names in the records (request bodies not captured): distinct accounts unknown"


#: String columns the aggregations only count or collect (see :func:`sliding`).
ENCODED = ["username", "client_ip"]


class StuffingOptions(DetectorOptions):
    window_minutes: int = Field(default=15, ge=1)
    min_attempts: int = Field(default=30, ge=1)
    min_accounts: int = Field(default=15, ge=1)
    min_failure_ratio: float = Field(default=0.5, ge=0, le=1)
    distributed_window_minutes: int = Field(default=360, ge=1)
    distributed_min_attempts: int = Field(default=100, ge=1)
    distributed_min_addresses: int = Field(default=50, ge=1)
    distributed_max_attempts_per_address: float = Field(default=5.0, gt=0)
    distributed_min_failure_ratio: float = Field(default=0.6, ge=0, le=1)


class CredentialStuffing(Detector):
    name = "credential_stuffing"
    title = "Credential stuffing"
    owasp = ("API2:2023",)
    mitre = ("T1110.004",)
    roles = ("login", "token")
    columns = ("method", "template", "client_ip", "ip_net", "api_key", "username", "user_agent", "fail", "ok",
               "throttled")
    settings_model = StuffingOptions

    @property
    def horizon(self) -> timedelta:
        o: StuffingOptions = self.options  # type: ignore[assignment]
        return timedelta(minutes=max(o.window_minutes, o.distributed_window_minutes))

    def detect(self, rows: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        return pl.concat([self._concentrated(rows), self._distributed(rows)], how="vertical")

    def _aggs(self) -> list[pl.Expr]:
        return [
            pl.col("username").n_unique().alias("accounts"),
            pl.col("username").null_count().alias("_no_name"),
            pl.col("fail").sum().alias("failures"),
            pl.col("ok").sum().alias("successes"),
            pl.col("throttled").sum().alias("throttled"),
            pl.col("client_ip").n_unique().alias("addresses"),
            pl.col("client_ip").unique().head(20).alias("_ips"),
            endpoint_list(),
        ]

    def _concentrated(self, rows: pl.DataFrame) -> pl.DataFrame:
        o: StuffingOptions = self.options  # type: ignore[assignment]
        out = []
        for kind in ("ip_net", "api_key"):
            w = sliding(busy(rows, [kind], o.min_attempts, minutes=o.window_minutes), [kind], o.window_minutes,
                        self._aggs(), encode=ENCODED)
            if w.height == 0:
                continue
            w = w.with_columns(
                ratio(pl.col("failures"), pl.col("events") - pl.col("throttled")).alias("failure_ratio"),
                (pl.col("_no_name") == pl.col("events")).alias("blind"),
                (pl.col("accounts") - (pl.col("_no_name") > 0).cast(pl.UInt32)).alias("accounts"),
            )
            fired = w.filter(
                (pl.col("failure_ratio") >= o.min_failure_ratio)
                & pl.when(pl.col("blind"))
                .then((pl.col("events") >= 3 * o.min_attempts) & (pl.col("failure_ratio") >= 0.7))
                .otherwise((pl.col("events") >= o.min_attempts) & (pl.col("accounts") >= o.min_accounts))
            )
            if fired.height == 0:
                continue
            single = (pl.col("addresses") == 1) & pl.lit(kind == "ip_net")
            out.append(candidates(
                fired,
                entity_kind=pl.when(single).then(pl.lit("ip")).otherwise(pl.lit(kind)),
                entity=pl.when(single).then(pl.col("_ips").list.first()).otherwise(pl.col(kind)),
                score=pl.col("accounts") + pl.col("failures"),
                confidence=pl.when(pl.col("blind")).then(0.6).otherwise(
                    (0.6 + 0.4 * pl.col("failure_ratio")).clip(0, 0.99)),
                severity=self.options.severity,
                evidence=["events", "accounts", "failures", "successes", "throttled", "failure_ratio", "addresses",
                          "window_start", "window_end"],
                summary=pl.format("{} login attempts on {} in {} min from {} address(es); {} failed, {} "
                                  "succeeded", pl.col("events"),
                                  pl.when(pl.col("blind")).then(pl.lit("unknown accounts"))
                                  .otherwise(pl.col("accounts").cast(pl.String) + " accounts"),
                                  pl.lit(o.window_minutes), pl.col("addresses"), pl.col("failures"),
                                  pl.col("successes")),
                related=tagged("ip", "_ips"),
                limits=[NO_USERNAMES] if fired["blind"].any() else None,
            ))
        return pl.concat(out) if out else no_candidates()

    def _distributed(self, rows: pl.DataFrame) -> pl.DataFrame:
        o: StuffingOptions = self.options  # type: ignore[assignment]
        if rows.height == 0:
            return no_candidates()
        # the endpoint's failure rate *without* each agent: an attack that is most of the
        # login traffic must not raise the bar it is measured against
        total = rows.select(pl.col("fail").sum().alias("f"), (pl.len() - pl.col("throttled").sum()).alias("a")).row(0)
        others = rows.group_by("user_agent").agg(
            (pl.lit(total[0]) - pl.col("fail").sum()).alias("_of"),
            (pl.lit(total[1]) - pl.len() + pl.col("throttled").sum()).alias("_oa"),
        ).select("user_agent", ratio(pl.col("_of"), pl.col("_oa")).round(3).alias("endpoint_failure_ratio"))
        failing = o.distributed_min_attempts * o.distributed_min_failure_ratio
        w = sliding(busy(rows, ["user_agent"], failing, "fail", o.distributed_window_minutes), ["user_agent"],
                    o.distributed_window_minutes, self._aggs(), encode=ENCODED)
        if w.height == 0:
            return no_candidates()
        w = w.with_columns(
            ratio(pl.col("failures"), pl.col("events") - pl.col("throttled")).alias("failure_ratio"),
            (pl.col("events") / pl.col("addresses")).round(2).alias("attempts_per_address"),
        ).join(others, on="user_agent", how="left")
        fired = w.filter(
            (pl.col("events") >= o.distributed_min_attempts)
            & (pl.col("addresses") >= o.distributed_min_addresses)
            & (pl.col("attempts_per_address") <= o.distributed_max_attempts_per_address)
            & (pl.col("failure_ratio") >= o.distributed_min_failure_ratio)
            & (pl.col("failure_ratio") >= 2 * pl.col("endpoint_failure_ratio"))
        )
        return candidates(
            fired, entity_kind="user_agent", entity="user_agent",
            score=pl.col("failures"), confidence=(0.5 + 0.5 * pl.col("failure_ratio")).clip(0, 0.95),
            severity=self.options.severity,
            evidence=["events", "addresses", "attempts_per_address", "accounts", "failures", "failure_ratio",
                      "endpoint_failure_ratio", "window_start", "window_end"],
            summary=pl.format("distributed: {} login attempts from {} addresses ({} each) sharing one user agent "
                              "in {} h; failure ratio {} against {} for the endpoint", pl.col("events"),
                              pl.col("addresses"), pl.col("attempts_per_address"),
                              pl.lit(o.distributed_window_minutes // 60), pl.col("failure_ratio").round(2),
                              pl.col("endpoint_failure_ratio")),
            related=tagged("ip", "_ips"),
        )

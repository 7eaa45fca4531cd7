"""Brute force: many failed logins against one account.

Counted per account name (fingerprinted) at login and token endpoints. Without
request bodies the account is unknown; one address failing very often at a login
endpoint is then reported at address level, saying so. A success after the failures
(the guess worked) makes the alert critical.
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
    tagged,
)

NO_USERNAMES = "no account names in the records (request bodies not captured): counted per address"


class BruteForceOptions(DetectorOptions):
    window_minutes: int = Field(default=15, ge=1)
    min_failures: int = Field(default=10, ge=1)
    min_failure_ratio: float = Field(default=0.8, ge=0, le=1)
    blind_min_failures: int = Field(default=60, ge=1, description="per address, when account names are unknown")


class BruteForce(Detector):
    name = "brute_force"
    title = "Brute force against one account"
    owasp = ("API2:2023",)
    mitre = ("T1110.001",)
    roles = ("login", "token")
    columns = ("method", "template", "client_ip", "username", "user_agent", "fail", "ok", "throttled")
    settings_model = BruteForceOptions

    def detect(self, rows: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        o: BruteForceOptions = self.options  # type: ignore[assignment]
        aggs = [
            pl.col("fail").sum().alias("failures"),
            pl.col("ok").sum().alias("successes"),
            pl.col("throttled").sum().alias("throttled"),
            pl.col("client_ip").n_unique().alias("addresses"),
            pl.col("client_ip").unique().head(10).alias("_ips"),
            endpoint_list(),
        ]
        out = []
        w = sliding(busy(rows, ["username"], o.min_failures, "fail", o.window_minutes), ["username"], o.window_minutes, aggs,
                    encode=["client_ip"])
        if w.height:
            w = w.with_columns(ratio(pl.col("failures"), pl.col("events") - pl.col("throttled")).alias("failure_ratio"))
            fired = w.filter((pl.col("failures") >= o.min_failures) & (pl.col("failure_ratio") >= o.min_failure_ratio))
            out.append(candidates(
                fired, entity_kind="username", entity="username",
                score=pl.col("failures") + 2 * pl.col("successes"),  # the window with the lucky guess describes it
                confidence=(0.5 + pl.col("failures") / (4 * o.min_failures)).clip(0, 0.98),
                severity=pl.when(pl.col("successes") > 0).then(pl.lit("critical")).otherwise(pl.lit(o.severity)),
                evidence=["failures", "successes", "throttled", "failure_ratio", "addresses", "window_start",
                          "window_end"],
                summary=pl.format("{} failed logins for one account in {} min from {} address(es); {} succeeded, "
                                  "{} throttled", pl.col("failures"), pl.lit(o.window_minutes), pl.col("addresses"),
                                  pl.col("successes"), pl.col("throttled")),
                related=tagged("ip", "_ips"),
            ))
        blind = rows.filter(pl.col("username").is_null())
        if blind.height:
            w = sliding(busy(blind, ["client_ip"], o.blind_min_failures, "fail", o.window_minutes), ["client_ip"], o.window_minutes,
                        aggs)  # keyed by the address: nothing to encode
            if w.height:
                w = w.with_columns(
                    ratio(pl.col("failures"), pl.col("events") - pl.col("throttled")).alias("failure_ratio"))
                fired = w.filter((pl.col("failures") >= o.blind_min_failures) & (pl.col("failure_ratio") >= 0.9))
                out.append(candidates(
                    fired, entity_kind="ip", entity="client_ip", score=pl.col("failures"), confidence=0.5,
                    severity="medium", evidence=["failures", "successes", "throttled", "failure_ratio", "window_start",
                                                 "window_end"],
                    summary=pl.format("{} failed logins from one address in {} min (accounts unknown)",
                                      pl.col("failures"), pl.lit(o.window_minutes)),
                    limits=[NO_USERNAMES],
                ))
        return pl.concat(out) if out else no_candidates()

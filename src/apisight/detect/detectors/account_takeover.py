"""Account takeover: someone else is using a customer's account.

Two signals, per principal:

* **Takeover sequence.** A sensitive action (contact or password change, new payee,
  payment, password reset) by an established principal from a device — network and
  user agent — it has never used, after a run of failed logins from that address, or
  with a user agent it never used from a country it has never been seen in.
* **Token reuse.** One bearer token or session cookie used from many addresses across
  several countries or networks within minutes: a stolen session replayed.

A device is "new" only for a principal seen before on another one (a first-time
customer has no usual device to differ from); the new-country signal also needs
``detect.learning_hours`` of history.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl
from pydantic import Field

from apisight.detect.detector import (
    ENDPOINT,
    Context,
    Detector,
    DetectorOptions,
    candidates,
    distinct,
    endpoint_list,
    no_candidates,
    sliding,
    tagged,
)

SENSITIVE_ACTIONS = ("profile_change", "payee_add", "payment", "password_reset")
NO_GEO = "no country/AS for the addresses (private or unknown ranges): new-country signal unavailable"


class TakeoverOptions(DetectorOptions):
    window_minutes: int = Field(default=60, ge=1, description="failures and new device before the action")
    min_failures: int = Field(default=3, ge=1)
    token_window_minutes: int = Field(default=30, ge=1)
    token_min_addresses: int = Field(default=8, ge=2)
    token_min_countries: int = Field(default=3, ge=2)
    token_min_networks: int = Field(default=5, ge=2)


class AccountTakeover(Detector):
    name = "account_takeover"
    title = "Account takeover"
    owasp = ("API2:2023",)
    mitre = ("T1078", "T1550.001")
    columns = ("method", "template", "role", "client_ip", "ip_net", "user_agent", "principal", "token", "session",
               "country",
               "asn", "fail", "ok")
    settings_model = TakeoverOptions

    @property
    def horizon(self) -> timedelta:
        o: TakeoverOptions = self.options  # type: ignore[assignment]
        return timedelta(minutes=max(o.window_minutes, o.token_window_minutes))

    roles = SENSITIVE_ACTIONS  # the sensitive actions; logins and token use are read besides

    def rows(self, frame: pl.DataFrame) -> pl.DataFrame:
        keep = (pl.col("role").is_in(("login", "token", *(self.watched_roles or ()))) | pl.col("token").is_not_null()
                | pl.col("session").is_not_null())
        return frame.filter(keep).select("ts", "event_id", *self.columns)

    def detect(self, rows: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        return pl.concat([self._sequence(rows, ctx), self._token_reuse(rows, ctx)])

    def _sequence(self, rows: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        o: TakeoverOptions = self.options  # type: ignore[assignment]
        window = timedelta(minutes=o.window_minutes)
        actions = rows.filter(pl.col("role").is_in(self.watched_roles or ()) & pl.col("principal").is_not_null()
                              & pl.col("ok"))
        if actions.height == 0 or ctx.devices.height == 0:
            return no_candidates()
        devices = ctx.devices.filter(pl.col("principal").is_in(actions["principal"].unique().implode()))
        known = devices.group_by("principal").agg(pl.col("first_seen").min().alias("principal_since"))
        device_since = devices.group_by("principal", "ip_net", "user_agent").agg(
            pl.col("first_seen").min().alias("device_since"))
        agent_since = devices.group_by("principal", "user_agent").agg(pl.col("first_seen").min().alias("agent_since"))
        acts = (actions.join(known, on="principal", how="left")
                .join(device_since, on=["principal", "ip_net", "user_agent"], how="left", nulls_equal=True)
                .join(agent_since, on=["principal", "user_agent"], how="left", nulls_equal=True))
        if ctx.geo:
            countries = devices.drop_nulls("country").group_by("principal", "country").agg(
                pl.col("first_seen").min().alias("country_since"))
            acts = acts.join(countries, on=["principal", "country"], how="left")
        else:
            acts = acts.with_columns(pl.lit(None, acts["ts"].dtype).alias("country_since"))
        acts = acts.with_columns(
            (pl.col("principal_since") <= pl.col("ts") - ctx.learning).alias("established"),
            (pl.col("principal_since") < pl.col("ts") - window).alias("known_before"),
            (pl.col("device_since").is_null() | (pl.col("device_since") >= pl.col("ts") - window)).alias("new_device"),
            (pl.col("agent_since").is_null() | (pl.col("agent_since") >= pl.col("ts") - window)).alias("new_agent"),
            (pl.col("country").is_not_null()
             & (pl.col("country_since").is_null() | (pl.col("country_since") >= pl.col("ts") - window)))
            .alias("new_country"),
        ).filter(pl.col("known_before") & pl.col("new_device"))
        if acts.height == 0:
            return no_candidates()
        failures = rows.filter(pl.col("role").is_in(("login", "token")) & pl.col("fail")).select(
            pl.col("ts").alias("fail_ts"), "client_ip", pl.col("event_id").alias("fail_event"))
        before = (acts.select("event_id", "ts", "client_ip").join(failures, on="client_ip")
                  .filter((pl.col("fail_ts") <= pl.col("ts")) & (pl.col("fail_ts") >= pl.col("ts") - window))
                  .group_by("event_id").agg(pl.len().alias("failed_logins"), pl.col("fail_ts").min().alias("first_fail"),
                                            pl.col("fail_event").head(3).alias("fail_events")))
        acts = acts.join(before, on="event_id", how="left").with_columns(pl.col("failed_logins").fill_null(0))
        # a traveller pays from abroad on their own phone; a thief brings their own browser
        # failed logins from the new device are evidence enough once the customer was seen before on
        # another; a new country needs a full learning period (and a new browser: travellers keep theirs)
        fired = acts.filter((pl.col("failed_logins") >= o.min_failures)
                            | (pl.col("established") & pl.col("new_country") & pl.col("new_agent")))
        if fired.height == 0:
            return no_candidates()
        per = fired.sort("ts").with_columns(ENDPOINT).group_by("principal", maintain_order=True).agg(
            pl.coalesce(pl.col("first_fail").min(), pl.col("ts").min()).alias("first_seen"),
            pl.col("ts").max().alias("last_seen"),
            pl.col("ts").min().alias("window_end"),
            (pl.len() + pl.col("failed_logins").max()).alias("events"),
            pl.col("failed_logins").max(),
            pl.col("new_country").any(),
            pl.col("country").drop_nulls().first(),
            pl.col("client_ip").unique().head(5).alias("_ips"),
            pl.col("role").unique().alias("actions"),
            pl.col("fail_events").list.explode(keep_nulls=False, empty_as_null=False).head(2)
            .append(pl.col("event_id").head(3)).alias("sample_event_ids"),
            endpoint_list(),
        )
        per = per.with_columns(pl.col("sample_event_ids").list.drop_nulls())
        return candidates(
            per, entity_kind="principal", entity="principal",
            score=pl.col("events"),
            confidence=pl.when((pl.col("failed_logins") >= o.min_failures) & pl.col("new_country")).then(0.95)
            .when(pl.col("failed_logins") >= o.min_failures).then(0.85).otherwise(0.7),
            severity=pl.when(pl.col("failed_logins") >= o.min_failures).then(pl.lit("critical"))
            .otherwise(pl.lit(o.severity)),
            evidence=["failed_logins", "new_country", "country", "actions"],
            summary=pl.format("{} from a device this customer never used ({} failed logins from its address before; "
                              "new country: {})", pl.col("actions").list.join(", "), pl.col("failed_logins"),
                              pl.col("new_country")),
            related=tagged("ip", "_ips"),
            limits=None if ctx.geo else [NO_GEO],
        )

    def _token_reuse(self, rows: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        o: TakeoverOptions = self.options  # type: ignore[assignment]
        # a bearer token, else a session cookie: what a thief replays
        tokens = rows.with_columns(
            pl.when(pl.col("token").is_not_null()).then(pl.lit("token")).when(pl.col("session").is_not_null())
            .then(pl.lit("session")).alias("credential_kind"),
            pl.coalesce("token", "session").alias("credential"),
        ).filter(pl.col("credential").is_not_null()
                 & (pl.col("client_ip").n_unique().over("credential") >= o.token_min_addresses))
        w = sliding(tokens, ["credential_kind", "credential"], o.token_window_minutes, [
            pl.col("client_ip").n_unique().alias("addresses"),
            distinct(pl.col("country")).alias("countries"),
            distinct(pl.col("asn")).alias("networks"),
            pl.col("country").drop_nulls().unique().head(10).alias("country_list"),
            pl.col("principal").drop_nulls().first().alias("principal"),
            pl.col("client_ip").unique().head(10).alias("_ips"),
            endpoint_list(),
        ], encode=["client_ip", "country", "principal"])
        if w.height == 0:
            return no_candidates()
        fired = w.filter((pl.col("addresses") >= o.token_min_addresses)
                         & ((pl.col("countries") >= o.token_min_countries) | (pl.col("networks") >= o.token_min_networks)))
        return candidates(
            fired,
            entity_kind=pl.when(pl.col("principal").is_not_null()).then(pl.lit("principal"))
            .otherwise(pl.col("credential_kind")),
            entity=pl.coalesce("principal", "credential"),
            score=pl.col("addresses"), confidence=(0.6 + 0.05 * pl.col("countries")).clip(0, 0.95),
            severity="critical",
            evidence=["addresses", "countries", "networks", "country_list", "window_start", "window_end"],
            summary=pl.format("one {} used from {} addresses in {} countries and {} networks within {} min",
                              pl.when(pl.col("credential_kind") == "token").then(pl.lit("bearer token"))
                              .otherwise(pl.lit("session cookie")), pl.col("addresses"), pl.col("countries"), pl.col("networks"),
                              pl.lit(o.token_window_minutes)),
            related=pl.concat_list(pl.col("credential_kind") + ":" + pl.col("credential"),
                                   tagged("ip", "_ips")),
            limits=None if ctx.geo else [NO_GEO],
        )

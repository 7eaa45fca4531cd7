""""Normal abnormal": when an endpoint changes for most of its clients at once.

Per endpoint and hour, against the endpoint's previous hours (up to a day):

* ``response_changed`` — the median response size moves (a field added or removed, a
  new version rolled out) and stays moved, for most clients of the hour: an API
  change, recorded in ``api_changes``;
* ``error_surge`` / ``client_error_surge`` — the share of 5xx / 4xx jumps for many
  clients together (an outage, a retry storm, a new validation rule — or an attack
  by many new clients, so these only explain, they are not recorded as changes);
* ``traffic_surge`` — several times the usual requests from several times the usual
  clients (a campaign, a batch).

Shifts explain per-client deviations: detectors marked ``suppress_on_shift`` drop
candidates whose endpoints all shifted at that time. Only a client that deviates from
its peers stays suspicious.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import polars as pl

from apisight.events import TIMESTAMP

SHIFT_SCHEMA: dict[str, pl.DataType] = {
    "host": pl.String(), "method": pl.String(), "template": pl.String(), "hour": TIMESTAMP, "change": pl.String(),
    "clients": pl.UInt32(), "clients_affected": pl.Float64(), "detail": pl.String(),
}

MIN_HISTORY_HOURS = 3
MIN_EVENTS = 20
#: Clients an endpoint needs in the hour for a change to be "for most clients".
MIN_CLIENTS = 5


def find_shifts(endpoint_hours: pl.DataFrame, features: pl.DataFrame) -> pl.DataFrame:
    """Shifts in the hours ``features`` touch, judged against ``endpoint_hours`` (all kept hours)."""
    if features.height == 0 or endpoint_hours.height == 0:
        return pl.DataFrame(schema=SHIFT_SCHEMA)
    hours = endpoint_hours.sort("hour")
    key = ["host", "method", "template"]
    base = (
        hours.join(hours, on=key, suffix="_b")
        .filter((pl.col("hour_b") < pl.col("hour")) & (pl.col("hour_b") >= pl.col("hour") - timedelta(hours=24)))
        .group_by(*key, "hour")
        .agg(pl.len().alias("history_hours"), pl.col("events_b").mean().alias("base_events"),
             pl.col("clients_b").mean().alias("base_clients"),
             (pl.col("client_errors_b").sum() / pl.col("events_b").sum()).alias("base_4xx"),
             (pl.col("server_errors_b").sum() / pl.col("events_b").sum()).alias("base_5xx"),
             pl.col("size_median_b").median().alias("base_size"),
             (pl.col("size_median_b") - pl.col("size_median_b").median()).abs().median().alias("size_mad"))
    )
    touched = features.select(*key, pl.col("ts").dt.truncate("1h").alias("hour")).unique()
    now = (hours.join(touched, on=[*key, "hour"]).join(base, on=[*key, "hour"])
           .filter((pl.col("history_hours") >= MIN_HISTORY_HOURS) & (pl.col("events") >= MIN_EVENTS)))
    if now.height == 0:
        return pl.DataFrame(schema=SHIFT_SCHEMA)
    following = hours.select(*key, (pl.col("hour") - timedelta(hours=1)).alias("hour"),
                             pl.col("size_median").alias("next_size"))
    now = now.join(following, on=[*key, "hour"], how="left").with_columns(
        (pl.col("client_errors") / pl.col("events")).alias("share_4xx"),
        (pl.col("server_errors") / pl.col("events")).alias("share_5xx"),
        (pl.col("size_median") - pl.col("base_size")).alias("size_delta"),
    )
    # beyond the endpoint's own hour-to-hour wobble (a PDF export or a metrics page varies a lot)
    floor = pl.max_horizontal(pl.lit(8.0), 0.03 * pl.col("base_size"), 4 * pl.col("size_mad").fill_null(0))
    moved = (pl.col("size_delta").abs() >= floor) & (
        (pl.col("next_size") - pl.col("base_size")).sign() == pl.col("size_delta").sign())
    out = pl.concat([
        now.filter(moved).select(*key, "hour", "clients", pl.lit("response_changed").alias("change"),
                                 pl.format("median response size {} -> {} bytes", pl.col("base_size").round(0),
                                           pl.col("size_median").round(0)).alias("detail")),
        now.filter(pl.col("share_5xx") - pl.col("base_5xx") >= 0.3).select(
            *key, "hour", "clients", pl.lit("error_surge").alias("change"),
            pl.format("5xx share {} (usually {})", pl.col("share_5xx").round(2), pl.col("base_5xx").round(2))
            .alias("detail")),
        now.filter(pl.col("share_4xx") - pl.col("base_4xx") >= 0.3).select(
            *key, "hour", "clients", pl.lit("client_error_surge").alias("change"),
            pl.format("4xx share {} (usually {})", pl.col("share_4xx").round(2), pl.col("base_4xx").round(2))
            .alias("detail")),
        now.filter((pl.col("events") >= 3 * pl.col("base_events")) & (pl.col("clients") >= 3 * pl.col("base_clients"))
                   & (pl.col("clients") >= 10)).select(
            *key, "hour", "clients", pl.lit("traffic_surge").alias("change"),
            pl.format("{} requests from {} clients (usually {} from {})", pl.col("events"), pl.col("clients"),
                      pl.col("base_events").round(0), pl.col("base_clients").round(0)).alias("detail")),
    ])
    return _clients_affected(out, features, now)


def _clients_affected(shifts: pl.DataFrame, features: pl.DataFrame, now: pl.DataFrame) -> pl.DataFrame:
    """Share of the hour's clients that saw each shift (a shift is for most, or it is not one)."""
    if shifts.height == 0:
        return pl.DataFrame(schema=SHIFT_SCHEMA)
    key = ["host", "method", "template"]
    per_client = features.join(shifts.select(*key, "hour").unique(), left_on=[*key, pl.col("ts").dt.truncate("1h")],
                               right_on=[*key, "hour"]).group_by(*key, pl.col("ts").dt.truncate("1h").alias("hour"),
                                                                 "client").agg(
        pl.col("response_bytes").filter(pl.col("ok")).median().alias("size"), pl.col("server_error").any().alias("got_5xx"),
        pl.col("client_error").any().alias("got_4xx"))
    per_client = per_client.join(now.select(*key, "hour", "base_size", "size_median"), on=[*key, "hour"])
    shares = per_client.group_by(*key, "hour").agg(
        ((pl.col("size") - pl.col("base_size")).abs() > (pl.col("size") - pl.col("size_median")).abs()).mean()
        .alias("response_changed"),
        pl.col("got_5xx").mean().alias("error_surge"), pl.col("got_4xx").mean().alias("client_error_surge"),
        pl.lit(1.0).alias("traffic_surge"))
    long = shares.unpivot(index=[*key, "hour"], variable_name="change", value_name="clients_affected")
    return (shifts.join(long, on=[*key, "hour", "change"], how="left")
            .with_columns(pl.col("clients_affected").fill_null(0.0).round(3))
            .filter(pl.col("clients_affected") >= 0.3)
            .select(list(SHIFT_SCHEMA)))


def api_change_rows(shifts: pl.DataFrame, recorded: pl.DataFrame, run_id: str) -> pl.DataFrame:
    """``api_changes`` rows for the shifts that are changes of the API itself.

    A change stays visible against the endpoint's past day for hours; it is recorded
    once, at its first hour (``recorded``: the changes already stored).
    """
    key = ["host", "method", "template", "change"]
    changes = shifts.filter((pl.col("change") == "response_changed") & (pl.col("clients_affected") >= 0.6)
                            & (pl.col("clients") >= MIN_CLIENTS))
    if recorded.height == 0:
        recorded = pl.DataFrame(schema={"host": pl.String(), "method": pl.String(), "path": pl.String(),
                                        "change": pl.String(), "ts": TIMESTAMP})
    before = recorded.select("host", "method", pl.col("path").alias("template"), "change",
                             pl.col("ts").dt.convert_time_zone("UTC").cast(TIMESTAMP).alias("hour"))
    both = pl.concat([before.with_columns(pl.lit(True).alias("_old")),
                      changes.select(*key, "hour").with_columns(pl.lit(False).alias("_old"))]).sort(*key, "hour")
    first = both.with_columns(pl.col("hour").shift(1).over(key).alias("_prev")).filter(
        ~pl.col("_old") & (pl.col("_prev").is_null() | (pl.col("hour") - pl.col("_prev") > timedelta(hours=24))))
    changes = changes.join(first.select(*key, "hour"), on=[*key, "hour"])
    ids = [hashlib.sha256(f"{h}|{m}|{t}|{c}|{hr.isoformat()}".encode()).hexdigest()[:16]
           for h, m, t, c, hr in changes.select("host", "method", "template", "change", "hour").iter_rows()]
    return changes.select(
        pl.Series("id", ids, dtype=pl.String), "host", "method", pl.col("template").alias("path"), "change",
        pl.col("hour").alias("ts"), "clients_affected", "detail", pl.lit(run_id).alias("run_id"))


def explained(candidates: pl.DataFrame, shifts: pl.DataFrame) -> pl.Series:
    """Whether each candidate's endpoints all shifted during its span."""
    if candidates.height == 0 or shifts.height == 0:
        return pl.Series([False] * candidates.height)
    windows = shifts.select((pl.col("method") + " " + pl.col("template")).alias("endpoint"), "hour")
    rows = candidates.with_row_index("_i").select("_i", "first_seen", "last_seen", "endpoints").explode("endpoints")
    hits = rows.join(windows, left_on="endpoints", right_on="endpoint").filter(
        (pl.col("hour") <= pl.col("last_seen")) & (pl.col("hour") + timedelta(hours=1) > pl.col("first_seen")))
    covered = hits.select("_i", "endpoints").unique().group_by("_i").len()
    total = rows.group_by("_i").agg(pl.col("endpoints").drop_nulls().len().alias("n"))
    full = total.join(covered, on="_i", how="left").filter(pl.col("len") == pl.col("n"))["_i"]
    return pl.Series(range(candidates.height)).is_in(full.implode())

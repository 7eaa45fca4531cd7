"""Detection state: explicit, bounded, saved between runs.

* each detector's rows for its longest window plus the allowed lateness;
* per principal, the devices (network + user agent), countries and AS seen, for
  ``entity_idle_days``;
* per object (endpoint template and id), the principal first served it — its owner,
  as far as traffic shows — for ``entity_idle_days``;
* per client, requests per hour for the last week (volume baselines);
* per endpoint, hourly shape (clients, errors, response size) for two days (shifts).

Saved as Parquet files plus ``state.json`` in a folder of the run that saved it
(``<data dir>/detect/<run id>/``), which the run's catalog names on commit: a run killed
half-way leaves the previous state whole and in use.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from apisight.events import TIMESTAMP

VERSION = 2  # 2: no fingerprints of seen events (the store keeps each record once)

DEVICES_SCHEMA: dict[str, pl.DataType] = {"principal": pl.String(), "ip_net": pl.String(), "user_agent": pl.String(), "asn": pl.String(),
                  "country": pl.String(), "first_seen": TIMESTAMP, "last_seen": TIMESTAMP}
HOURLY_SCHEMA: dict[str, pl.DataType] = {"client_kind": pl.String(), "client": pl.String(), "hour": TIMESTAMP, "events": pl.UInt32()}
ENDPOINT_HOURS_SCHEMA: dict[str, pl.DataType] = {"host": pl.String(), "method": pl.String(), "template": pl.String(), "hour": TIMESTAMP,
                         "events": pl.UInt32(), "clients": pl.UInt32(), "client_errors": pl.UInt32(),
                         "server_errors": pl.UInt32(), "size_median": pl.Float64()}
OWNERS_SCHEMA: dict[str, pl.DataType] = {"host": pl.String(), "template": pl.String(), "object_id": pl.String(),
                                         "owner": pl.String(), "last_seen": TIMESTAMP}
#: Object reads that teach ownership: a principal served an object of an object endpoint.
OBJECT_ROLES = ("object_read", "collection")

HOURLY_KEEP = timedelta(days=7)
ENDPOINT_HOURS_KEEP = timedelta(days=2)


@dataclass
class DetectionState:
    watermark: datetime | None = None
    rows: dict[str, pl.DataFrame] = field(default_factory=dict)
    devices: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=DEVICES_SCHEMA))
    hourly: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=HOURLY_SCHEMA))
    endpoint_hours: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ENDPOINT_HOURS_SCHEMA))
    owners: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=OWNERS_SCHEMA))

    def absorb(self, features: pl.DataFrame) -> None:
        """Fold a batch into the long-lived summaries and move the watermark."""
        if features.height == 0:
            return
        newest = features["ts"].max()
        self.watermark = newest if self.watermark is None else max(self.watermark, newest)  # type: ignore[type-var,assignment]
        devices = features.filter(pl.col("principal").is_not_null()).group_by(
            "principal", "ip_net", "user_agent", "asn", "country").agg(
            pl.col("ts").min().alias("first_seen"), pl.col("ts").max().alias("last_seen"))
        self.devices = pl.concat([self.devices, devices.cast(DEVICES_SCHEMA)]).group_by(  # type: ignore[arg-type]
            "principal", "ip_net", "user_agent", "asn", "country").agg(
            pl.col("first_seen").min(), pl.col("last_seen").max())
        served = features.filter(pl.col("role").is_in(OBJECT_ROLES) & pl.col("ok") & pl.col("object_id").is_not_null()
                                 & (pl.col("client_kind") == "principal"))
        owners = served.sort("ts").group_by("host", "template", "object_id").agg(
            pl.col("principal").first().alias("owner"), pl.col("ts").max().alias("last_seen"))
        # the first principal served an object owns it; later reads only keep it fresh
        self.owners = pl.concat([self.owners, owners.cast(OWNERS_SCHEMA)]).group_by(  # type: ignore[arg-type]
            "host", "template", "object_id", maintain_order=True).agg(pl.col("owner").first(), pl.col("last_seen").max())
        hourly = features.drop_nulls("client").group_by(
            "client_kind", "client", pl.col("ts").dt.truncate("1h").alias("hour")).agg(pl.len().alias("events"))
        self.hourly = pl.concat([self.hourly, hourly.cast(HOURLY_SCHEMA)]).group_by(  # type: ignore[arg-type]
            "client_kind", "client", "hour").agg(pl.col("events").sum())
        hours = features.group_by("host", "method", "template", pl.col("ts").dt.truncate("1h").alias("hour")).agg(
            pl.len().alias("events"), pl.col("client").n_unique().alias("clients"),
            pl.col("client_error").sum().alias("client_errors"), pl.col("server_error").sum().alias("server_errors"),
            pl.col("response_bytes").filter(pl.col("ok")).median().alias("size_median"))
        self.endpoint_hours = pl.concat([self.endpoint_hours, hours.cast(ENDPOINT_HOURS_SCHEMA)]).group_by(  # type: ignore[arg-type]
            "host", "method", "template", "hour").agg(
            pl.col("events").sum(), pl.col("clients").max(), pl.col("client_errors").sum(),
            pl.col("server_errors").sum(), pl.col("size_median").sort_by("events").last())

    def expire(self, horizons: dict[str, timedelta], lateness: timedelta, idle: timedelta) -> None:
        """Drop what no window can reach any more."""
        if self.watermark is None:
            return
        wm = self.watermark
        for name, frame in self.rows.items():
            self.rows[name] = frame.filter(pl.col("ts") >= wm - horizons.get(name, timedelta()) - lateness)
        self.devices = self.devices.filter(pl.col("last_seen") >= wm - idle)
        self.owners = self.owners.filter(pl.col("last_seen") >= wm - idle)
        self.hourly = self.hourly.filter(pl.col("hour") >= wm - HOURLY_KEEP)
        self.endpoint_hours = self.endpoint_hours.filter(pl.col("hour") >= wm - ENDPOINT_HOURS_KEEP)

    def frames(self) -> dict[str, pl.DataFrame]:
        return {"devices": self.devices, "hourly": self.hourly, "owners": self.owners,
                "endpoint_hours": self.endpoint_hours, **{f"rows-{k}": v for k, v in self.rows.items()}}

    def size_bytes(self) -> int:
        return sum(int(f.estimated_size()) for f in self.frames().values())

    def active_entities(self) -> int:
        """Distinct clients and principals the state holds anything about."""
        clients = self.hourly.select("client").unique().height
        principals = self.devices.select("principal").unique().height
        return clients + principals

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        names = []
        for name, frame in self.frames().items():
            _atomic(directory / f"{name}.parquet", lambda p, f=frame: f.write_parquet(p))
            names.append(name)
        meta = {"version": VERSION, "watermark": self.watermark.isoformat() if self.watermark else None,
                "frames": names}
        _atomic(directory / "state.json", lambda p: p.write_text(json.dumps(meta, indent=1), encoding="utf-8"))
        for stale in directory.glob("rows-*.parquet"):
            if stale.stem not in names:
                stale.unlink()

    @classmethod
    def load(cls, directory: Path) -> DetectionState:
        meta_path = directory / "state.json"
        if not meta_path.is_file():
            return cls()
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("version") != VERSION:
            return cls()  # an older layout: start fresh rather than misread it
        state = cls(watermark=datetime.fromisoformat(meta["watermark"]) if meta.get("watermark") else None)
        for name in meta.get("frames", []):
            path = directory / f"{name}.parquet"
            if not path.is_file():
                continue
            frame = pl.read_parquet(path)
            if name.startswith("rows-"):
                state.rows[name[len("rows-"):]] = frame
            else:
                setattr(state, name, frame)
        return state


def _atomic(path: Path, write) -> None:  # type: ignore[no-untyped-def]
    staged = path.with_name(f".{path.name}.tmp")
    write(staged)
    os.replace(staged, path)

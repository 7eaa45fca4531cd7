"""Assemble the demo data set (traffic, specs, labels) and benchmark files."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from apisight.demo import bank, posture, scenarios, traffic, writers
from apisight.demo.population import Population, build_population
from apisight.demo.render import render
from apisight.demo.spec import write_spec
from apisight.errors import ConfigError


@dataclass(frozen=True)
class DemoFile:
    """One traffic file of the demo and how to read it."""

    path: Path
    format: str  # harl | nginx | envoy | har
    log_format: str | None  # nginx log_format string, for format "nginx"
    host: str


@dataclass(frozen=True)
class DemoManifest:
    """What :func:`generate_demo` wrote."""

    out_dir: Path
    files: list[DemoFile]
    specs: list[Path]
    labels: Path  # labels/scenarios.jsonl (labels/requests.parquet sits next to it)
    records: int
    start: datetime
    end: datetime
    scenarios: list[str] = field(default_factory=list)
    config: Path | None = None  # apisight.yaml for analysing this bank's traffic
    posture_labels: Path | None = None  # labels/posture.jsonl: planted weaknesses and clean look-alikes


#: Settings a DemoBank engineer would write: the partner gateway sits behind edge
#: load balancers, so the client is in X-Forwarded-For only when they are the peer.
DEMO_CONFIG = f"""\
# apisight settings for DemoBank (see `apisight init` for every setting)
network:
  trusted_proxies: [{bank.PARTNER_EDGE_NETWORK}]
  internal_networks: [10.0.0.0/8]
"""

#: Writers by bench format name.
BENCH_WRITERS: dict[str, Callable[..., None]] = {
    "nginx": writers.write_nginx,
    "nginx-partner": lambda df, path, append=False: writers.write_nginx_custom(
        df, path, writers.PARTNER_FORMAT, append=append),
    "harl": writers.write_harl,
    "envoy": writers.write_envoy,
    "kong": writers.write_kong,
    "alb": writers.write_alb,
}


def host_traffic(pop: Population, seed: int, records: int, t0_us: int, t1_us: int,
                 extra: dict[str, list[pl.DataFrame]] | None = None, stream: int = 0) -> dict[str, pl.DataFrame]:
    """Rendered traffic per host: ``records`` baseline requests in ``[t0_us, t1_us)`` plus ``extra`` skeletons."""
    out = {}
    for h, host in enumerate(bank.HOSTS):
        rng = np.random.default_rng([seed, 10 + h, stream])
        skel = traffic.BUILDERS[host](pop, rng, int(records * bank.HOST_SHARE[host]), t0_us, t1_us)
        parts = [skel, *(extra or {}).get(host, [])]
        skel = pl.concat(parts, how="diagonal_relaxed").sort("ts", maintain_order=True)
        out[host] = render(skel, pop, rng)
    return out


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _write_labels(out: Path, frames: dict[str, pl.DataFrame], metas: list[scenarios.Scenario]) -> Path:
    labelled = pl.concat([f.filter(pl.col("label").is_not_null()) for f in frames.values()])
    labels_dir = out / "labels"
    labels_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for meta in metas:
        rows = labelled.filter(pl.col("label") == meta.name)
        lines.append(json.dumps({
            "name": meta.name, "kind": meta.kind, "description": meta.description,
            "start": _iso(rows["ts"].min()), "end": _iso(rows["ts"].max()),  # type: ignore[arg-type]
            "entity": {"kind": meta.entity_kind, "value": meta.entity_value}, "host": meta.host,
            "endpoints": list(meta.endpoints), "expected": meta.expected, "request_count": rows.height,
        }, ensure_ascii=False))
    path = labels_dir / "scenarios.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    labelled.select("request_id", pl.col("label").alias("scenario"), "host", "ts").sort("ts", "request_id").write_parquet(
        labels_dir / "requests.parquet")
    return path


def generate_demo(out_dir: Path, *, seed: int = 7, scale: float = 1.0) -> DemoManifest:
    """Write the DemoBank data set (about 100,000 x ``scale`` records over 3 days) into ``out_dir``."""
    if scale <= 0:
        raise ConfigError(f"demo scale must be positive, got {scale}")
    out = Path(out_dir)
    (out / "traffic").mkdir(parents=True, exist_ok=True)
    (out / "openapi").mkdir(parents=True, exist_ok=True)
    pop = build_population(seed, scale)
    extra: dict[str, list[pl.DataFrame]] = {h: [] for h in bank.HOSTS}
    metas = []
    for i, build in enumerate(scenarios.BUILDERS):
        meta, skel = build(pop, np.random.default_rng([seed, 100 + i]))
        extra[meta.host].append(skel.with_columns(label=pl.lit(meta.name)))
        metas.append(meta)
    metas.append(scenarios.ROLLOUT)
    frames = host_traffic(pop, seed, int(bank.BASE_RECORDS * scale), bank.START_US, bank.END_US, extra)
    posture_labels, planted = posture.plant(pop, seed)
    for h, host in enumerate(bank.HOSTS):  # rendered apart, so the rest of the traffic stays as it was
        if host in planted:
            rows = render(planted[host], pop, np.random.default_rng([seed, 60, h]))
            frames[host] = pl.concat([frames[host], rows]).sort("ts", maintain_order=True)
    rng = np.random.default_rng([seed, 50])
    web = render(traffic.web_session(pop, rng, bank.START_US + bank.DAY_US + 19 * bank.HOUR_US), pop, rng)
    files = [
        DemoFile(out / "traffic/retail-api.harl", "harl", None, bank.RETAIL_HOST),
        DemoFile(out / "traffic/partner-gateway.log", "nginx", writers.PARTNER_FORMAT, bank.PARTNER_HOST),
        DemoFile(out / "traffic/internal-mesh.log", "envoy", None, bank.INTERNAL_HOST),
        DemoFile(out / "traffic/web-session.har", "har", None, bank.RETAIL_HOST),
    ]
    writers.write_harl(frames[bank.RETAIL_HOST], files[0].path)
    writers.write_nginx_custom(frames[bank.PARTNER_HOST], files[1].path, writers.PARTNER_FORMAT)
    writers.write_envoy(frames[bank.INTERNAL_HOST], files[2].path)
    writers.write_har(web, files[3].path)
    specs = [write_spec(bank.RETAIL_HOST, out / "openapi/demobank-retail.yaml"),
             write_spec(bank.PARTNER_HOST, out / "openapi/demobank-partner.yaml")]
    labels = _write_labels(out, frames, metas)
    posture_path = posture.write_labels(out / "labels/posture.jsonl", posture_labels)
    records = sum(f.height for f in frames.values()) + web.height
    config = out / "apisight.yaml"
    config.write_text(DEMO_CONFIG, encoding="utf-8")
    return DemoManifest(out, files, specs, labels, records, bank.START, bank.END, [m.name for m in metas], config,
                        posture_path)


def demo_frames(*, seed: int = 7, scale: float = 1.0) -> dict[str, pl.DataFrame]:
    """The demo's baseline traffic per host as frames, without writing anything (for tests)."""
    pop = build_population(seed, scale)
    return host_traffic(pop, seed, int(bank.BASE_RECORDS * scale), bank.START_US, bank.END_US)


def generate_bench(out_path: Path, *, records: int, format: str, seed: int = 7,
                   chunk: int = 100_000) -> Path:
    """Write ``records`` requests of mixed-host baseline traffic in one ``format``, chunk by chunk."""
    if format not in BENCH_WRITERS:
        raise ConfigError(f"unknown bench format {format!r} (known: {', '.join(BENCH_WRITERS)})")
    if records <= 0:
        raise ConfigError(f"records must be positive, got {records}")
    write = BENCH_WRITERS[format]
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    pop = build_population(seed)
    n_chunks = -(-records // chunk)
    span = (bank.END_US - bank.START_US) // n_chunks
    written = 0
    for k in range(n_chunks):
        n = min(chunk, records - written)
        t0 = bank.START_US + k * span
        frames = host_traffic(pop, seed, n, t0, t0 + span, stream=k)
        df = pl.concat(list(frames.values())).sort("ts", maintain_order=True)
        df = _top_up(df, n, pop, seed, t0, t0 + span, k)
        write(df, out, append=k > 0)
        written += df.height
    return out


def _top_up(df: pl.DataFrame, n: int, pop: Population, seed: int, t0: int, t1: int, k: int) -> pl.DataFrame:
    """Exactly ``n`` rows: per-host rounding can leave a few short; fill with retail traffic."""
    short = n - df.height
    if short <= 0:
        return df.head(n)
    rng = np.random.default_rng([seed, 99, k])
    more = render(traffic.retail(pop, rng, short, t0, t1), pop, rng)
    return pl.concat([df, more]).sort("ts", maintain_order=True)

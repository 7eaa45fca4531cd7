"""The inventory update that follows every run.

1. Every distinct (host, method, raw path) stored is mapped to an endpoint template:
   documented paths take their spec's template, the rest are templated from traffic.
   This works on distinct paths only, so its cost does not grow with repeated traffic;
   the templater's state is persisted so names stay stable.
2. Facts per endpoint (counts, first/last seen, status codes, latency percentiles,
   clients, auth schemes, exposure, query parameters, content types) come from partial
   aggregates kept in the catalog (:mod:`apisight.store.inventory_partials`): the run's
   new event files are aggregated once and added to them, days removed by retention are
   taken out, and endpoints whose paths were remapped are rebuilt from per-path rows. So
   an update costs what the run adds, not what is stored. JSON schemas are merged
   (genson) from a sample of bodies of this run.
3. Each endpoint gets its spec status and drift, and what changed since the previous
   run is recorded in ``inventory_changes``.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from apisight.config import Owner
from apisight.discovery.schemas import merge_body_schemas
from apisight.discovery.spec_match import SpecMatcher
from apisight.discovery.spec_model import Spec
from apisight.discovery.status import assess
from apisight.discovery.templating import DEFAULT_MAX_TEMPLATES, UNMAPPED, Templater
from apisight.store import Catalog
from apisight.store import inventory as q
from apisight.store import inventory_partials as partials
from apisight.store import inventory_totals as totals
from apisight.store.layout import events_dir

TEMPLATER_STATE = "templater"
SPEC_STATE = "specs"
KEYS = ["host", "method", "path"]
BODY_SAMPLES = 20


@dataclass(frozen=True)
class InventoryUpdate:
    """What an update found, for the run summary."""

    endpoints: int
    documented: int
    shadow: int
    zombie: int
    unused: int
    new_endpoints: int
    changes: int
    unmapped_requests: int = 0  # requests of paths past a host's template cap (a scanner's burst?)

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def update_inventory(
    catalog: Catalog,
    files: list[Any],
    specs: list[Spec],
    run_id: str,
    quiet_days: int = 7,
    owners: list[Owner] | None = None,
    max_templates: int = DEFAULT_MAX_TEMPLATES,
) -> InventoryUpdate:
    """Bring the catalog's inventory up to date with the stored events; ``files`` are this
    run's (their paths are templated, their bodies sampled for schemas)."""
    db = catalog.db
    q.ensure_tables(db)
    _add_stored_events(catalog, files, specs, max_templates)
    previous = q.load_endpoints(db)
    facts = totals.endpoint_facts(db)
    params = params_by_endpoint(totals.query_params(db), facts)
    schemas = merge_body_schemas(q.sample_bodies(db, files, BODY_SAMPLES), previous)
    live = previous.join(q.mapped_templates(db), on=KEYS, how="semi") if previous.height else previous
    endpoints = assign_owners(assess(facts, params, schemas, specs, live), owners)  # remapped: not carried
    changes = _changes(previous, endpoints, run_id, quiet_days)
    q.replace_endpoints(db, endpoints)
    q.record_changes(db, changes)
    counts = endpoints["spec_status"].value_counts()
    by_status = dict(zip(counts["spec_status"].to_list(), counts["count"].to_list(), strict=True))
    return InventoryUpdate(
        endpoints=endpoints.filter(pl.col("count") > 0).height,
        documented=by_status.get("documented", 0),
        shadow=by_status.get("shadow", 0),
        zombie=by_status.get("zombie", 0),
        unused=by_status.get("unused", 0),
        new_endpoints=changes.filter(pl.col("change") == "new_endpoint").height,
        changes=changes.height,
        unmapped_requests=int(endpoints.filter(pl.col("path") == UNMAPPED)["count"].sum() or 0),
    )


def _add_stored_events(catalog: Catalog, files: list[Any], specs: list[Spec], max_templates: int) -> None:
    """Template the new paths and bring the partial aggregates in line with the stored event
    files: add those not added yet (normally the run's), drop days that retention removed,
    rebuild the endpoints whose paths moved."""
    db = catalog.db
    partials.ensure_tables(db)
    root = events_dir(catalog.data_dir)
    todo = partials.pending(db, root)
    missed_remap = not todo.first and partials.mapping_changed(db)  # an update stopped half-way
    if todo.new_files:
        partials.stage(db, todo.new_files)
    if todo.first:  # older events are mapped already: template the run's paths only, as before
        seen = q.distinct_paths(db, files)
    elif todo.new_files:  # known paths just count; only the others go through templating
        seen = partials.unmapped_paths(db, todo.new_files)
        q.add_path_counts_by_key(db, "_run_paths")
    else:
        seen = q.distinct_paths(db, [])
    moved = _map_paths(db, seen, specs, max_templates)
    with partials.transaction(db):
        partials.drop_days(db, todo.gone_days)
        if todo.new_files:
            partials.add_staged(db, todo, root)
        if missed_remap or moved is None:
            partials.remap(db, None)
        elif moved:
            partials.remap(db, moved)
        partials.save_mapping(db)
    partials.release(db)


def _map_paths(db: Any, seen: pl.DataFrame, specs: list[Spec],
               max_templates: int) -> list[tuple[str, str, str]] | None:
    """Give every distinct path a template: the spec's where one matches, else a learned one.

    Only paths not mapped before are matched and templated, so a run of known traffic
    costs a lookup. When the set of specs changes, or the templater generalises a
    literal into a parameter, the affected rows are remapped. Returns the endpoints
    (host, method, template) whose paths moved, or None when every path was remapped.
    """
    spec_key = _spec_key(specs)
    specs_changed = q.load_state(db, SPEC_STATE) != spec_key
    if not specs_changed and seen.height == 0:
        return []
    known = q.known_paths(db)
    if specs_changed:  # remap everything ever seen against the new set of specs
        paths = (
            pl.concat([known.cast(seen.schema), seen])  # type: ignore[arg-type]
            .group_by(KEYS)
            .agg(pl.col("count").sum())
        )
        new, old = paths, known.head(0)
    else:
        new = seen.join(known.select(KEYS), on=KEYS, how="anti")
        old = seen.join(known.select(KEYS), on=KEYS, how="semi")
    state = q.load_state(db, TEMPLATER_STATE)
    templater = Templater(orjson.loads(state) if state else None, max_templates=max_templates)
    mapping = _template(new, specs, templater)
    moved: list[tuple[str, str, str]] = []
    if specs_changed:
        q.replace_path_templates(db, mapping)
    else:
        q.add_path_templates(db, mapping)
        q.add_path_counts(db, old)
        for change in templater.changes:
            q.retemplate(db, change["host"], change["method"], change["old"], change["new"])
            moved += [(change["host"], change["method"], change[end]) for end in ("old", "new")]
    q.save_state(db, TEMPLATER_STATE, orjson.dumps(templater.to_dict()).decode())
    q.save_state(db, SPEC_STATE, spec_key)
    return None if specs_changed and known.height else moved


def _template(paths: pl.DataFrame, specs: list[Spec], templater: Templater) -> pl.DataFrame:
    """Mapping rows for ``paths``: spec templates first, the rest from the templater."""
    columns = [*KEYS, "template", "origin", "spec_file", "operation_id", "count"]
    documented = pl.DataFrame()
    rest = paths
    if specs and paths.height:
        matched = SpecMatcher(specs).match(paths.select(KEYS))
        documented = (
            paths.join(matched.filter(pl.col("spec_template").is_not_null()), on=KEYS)
            .with_columns(
                pl.col("spec_template").alias("template"),
                pl.when(pl.col("method_documented")).then(pl.lit("spec")).otherwise(pl.lit("spec_path")).alias("origin"),
            )
            .select(columns)
        )
        rest = paths.join(documented.select(KEYS), on=KEYS, how="anti")
    learned = pl.DataFrame()
    if rest.height:
        learned = templater.assign(rest).with_columns(
            pl.lit("traffic").alias("origin"),
            pl.lit(None, pl.String).alias("spec_file"),
            pl.lit(None, pl.String).alias("operation_id"),
        ).select(columns)
    parts = [f for f in (documented, learned) if f.height]
    if not parts:
        return pl.DataFrame(schema={c: pl.String for c in columns[:-1]} | {"count": pl.Int64})
    return pl.concat(parts, how="diagonal_relaxed")


def _spec_key(specs: list[Spec]) -> str:
    """Identifies the set of specs by content, so editing a spec remaps the paths."""
    digests = sorted(f"{spec.path}:{hashlib.sha256(Path(spec.path).read_bytes()).hexdigest()}" for spec in specs)
    return orjson.dumps(digests).decode()


def assign_owners(endpoints: pl.DataFrame, owners: list[Owner] | None) -> pl.DataFrame:
    """Fill ``owner`` from the configured rules where the spec named none (first match wins)."""
    if not owners or endpoints.height == 0:
        return endpoints
    def owner_of(host: str, path: str) -> str | None:
        for rule in owners:
            if (not rule.hosts or host in rule.hosts) and any(fnmatch.fnmatchcase(path, p) for p in rule.paths):
                return rule.owner
        return None

    pairs = endpoints.select("host", "path").unique()
    lookup = pairs.with_columns(
        pl.Series("_owner", [owner_of(h, p) for h, p in pairs.iter_rows()], dtype=pl.String)
    )
    return (
        endpoints.join(lookup, on=["host", "path"], how="left", maintain_order="left")
        .with_columns(pl.coalesce("owner", "_owner").alias("owner"))
        .drop("_owner")
    )


def params_by_endpoint(params: pl.DataFrame, facts: pl.DataFrame) -> pl.DataFrame:
    """One JSON list of query parameters per endpoint, ``required`` when always present."""
    keys = ["host", "method", "path"]
    if params.height == 0:
        return facts.select(keys).with_columns(pl.lit("[]").alias("params"))
    joined = params.join(facts.select(*keys, pl.col("count").alias("_total")), on=keys)
    items = joined.sort("name").select(
        *keys,
        pl.struct(
            pl.col("name"),
            pl.lit("query").alias("in"),
            pl.col("type"),
            (pl.col("seen") >= pl.col("_total")).alias("required"),
            pl.col("seen"),
            pl.col("distinct_values"),
            pl.col("shape").alias("example_shape"),
        ).alias("param"),
    )
    grouped = items.group_by(keys).agg(pl.col("param"))
    encoded = grouped.with_columns(
        pl.col("param").map_elements(lambda v: orjson.dumps(list(v)).decode(), return_dtype=pl.String).alias("params")
    ).drop("param")
    return facts.select(keys).join(encoded, on=keys, how="left").with_columns(pl.col("params").fill_null("[]"))


def _changes(previous: pl.DataFrame, current: pl.DataFrame, run_id: str, quiet_days: int = 7) -> pl.DataFrame:
    """Inventory events: new endpoints, new parameters or response fields, auth changes, gone quiet."""
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    before = {(r["host"], r["method"], r["path"]): r for r in previous.iter_rows(named=True)}
    newest = current["last_seen"].max() if current.height else None
    old_newest = previous["last_seen"].max() if previous.height else None
    for row in current.filter(pl.col("count") > 0).iter_rows(named=True):
        key = (row["host"], row["method"], row["path"])
        old = before.get(key)
        base = {"ts": row["last_seen"] or now, "run_id": run_id, "host": key[0], "method": key[1], "path": key[2]}
        if old is None or not old["count"]:
            rows.append({**base, "ts": row["first_seen"], "change": "new_endpoint", "detail": row["spec_status"]})
            continue
        for kind, column in (("new_parameter", "params"), ("new_response_field", "response_schema")):
            added = _names(row[column]) - _names(old[column])
            if added and (kind == "new_parameter" or old[column]):  # a first schema is not a change
                rows.append({**base, "change": kind, "detail": ", ".join(sorted(added))})
        if _keys(row["auth"]) != _keys(old["auth"]):
            rows.append({**base, "change": "auth_changed",
                         "detail": f"{sorted(_keys(old['auth']))} -> {sorted(_keys(row['auth']))}"})
        quiet = newest is not None and row["last_seen"] is not None and (newest - row["last_seen"]).days >= quiet_days
        was_quiet = (
            old_newest is not None and old["last_seen"] is not None and (old_newest - old["last_seen"]).days >= quiet_days
        )
        if quiet and not was_quiet:
            rows.append({**base, "change": "gone_quiet", "detail": f"last seen {row['last_seen']}"})
    schema: dict[str, pl.DataType] = {
        "ts": pl.Datetime("us", "UTC"),
        **{c: pl.String() for c in ("run_id", "host", "method", "path", "change", "detail")},
    }
    return pl.DataFrame(rows, schema=schema)


def _names(value: str | None) -> set[str]:
    """Parameter names from a params list, or property names from a JSON schema."""
    if not value:
        return set()
    parsed = orjson.loads(value)
    if isinstance(parsed, list):
        return {p["name"] for p in parsed if isinstance(p, dict) and "name" in p}
    if isinstance(parsed, dict):
        return set((parsed.get("properties") or {}).keys())
    return set()


def _keys(value: str | None) -> set[str]:
    return set(orjson.loads(value).keys()) if value else set()

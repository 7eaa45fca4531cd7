"""One spec against the stored traffic, on demand (``apisight drift --spec FILE``).

Works whether or not the spec was given when the traffic was analysed: every distinct
path seen is matched against this spec alone, facts are aggregated for the matches,
and endpoints of the spec's hosts that it does not cover are reported as shadow.
"""

from __future__ import annotations

import polars as pl

from apisight.discovery.inventory import params_by_endpoint
from apisight.discovery.schemas import merge_body_schemas
from apisight.discovery.spec_match import SpecMatcher
from apisight.discovery.spec_model import Spec
from apisight.discovery.status import ENDPOINT_COLUMNS, assess
from apisight.store import Catalog
from apisight.store import inventory as q

KEYS = ["host", "method", "path"]
_MAPPING = "_drift_mapping"


def compare_with_spec(catalog: Catalog, spec: Spec) -> pl.DataFrame:
    """Endpoints as ``spec`` sees them: documented/zombie (with drift), unused, and shadow."""
    db = catalog.db
    if not q.table_exists(db, "path_templates"):
        return pl.DataFrame(schema={c: pl.String for c in ENDPOINT_COLUMNS})
    known = q.known_paths(db)
    matched = SpecMatcher([spec]).match(known.select(KEYS)).filter(pl.col("spec_template").is_not_null())
    mapping = matched.select(
        *KEYS,
        pl.col("spec_template").alias("template"),
        pl.when(pl.col("method_documented")).then(pl.lit("spec")).otherwise(pl.lit("spec_path")).alias("origin"),
        "spec_file",
        "operation_id",
    )
    db.register(_MAPPING, mapping)
    try:
        facts = q.endpoint_facts(db, _MAPPING)
        params = params_by_endpoint(q.query_params(db, _MAPPING), facts)
        schemas = merge_body_schemas(q.sample_bodies(db, None, 20, _MAPPING), pl.DataFrame())
    finally:
        db.unregister(_MAPPING)
    covered = assess(facts, params, schemas, [spec], pl.DataFrame())
    hosts = {h for op in spec.operations for h in op.hosts}
    inventory = q.load_endpoints(db)
    shadow = inventory.filter(
        (pl.col("count") > 0)
        & (pl.col("host").is_in(list(hosts)) if hosts else pl.lit(True))
        & ~pl.col("path").is_in(covered["path"].to_list())
        & (pl.col("spec_status") != "unused")
    ).with_columns(pl.lit("shadow").alias("spec_status"), pl.lit("[]").alias("drift"))
    if not hosts:  # a host-less spec claims no host: only traffic it matches is compared
        shadow = shadow.head(0)
    return pl.concat([covered, shadow.select(covered.columns).cast(covered.schema)]).sort(KEYS)  # type: ignore[arg-type]

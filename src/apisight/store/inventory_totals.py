"""The inventory's traffic facts, read from the endpoint totals of ``inventory_partials``.

The frames have the columns of :func:`apisight.store.inventory.endpoint_facts` and
:func:`apisight.store.inventory.query_params`, which aggregate every stored event, and the
same values, except:

- latency percentiles come from a histogram whose buckets are at most a factor
  GAMMA = (1 + a) / (1 - a) wide, a = ``LATENCY_ALPHA``. Each bucket stands for
  2 GAMMA^i / (GAMMA + 1), within a relative ``a`` of every latency in it. A percentile
  is, as ``quantile_cont`` defines it, linear between the two order statistics around
  rank q (n - 1); with each of those replaced by its bucket's value, the result is off by
  at most ``a`` times the exact percentile: 1% here. (Were latencies negative, which no
  reader produces, the bound would be ``a`` times the larger of the two in magnitude.)
- distinct clients and a parameter's distinct values are exact below ``SKETCH_K``;
  above they are estimated from the sketch (about 3% relative standard error).
"""

from __future__ import annotations

import duckdb
import polars as pl

from apisight.store.inventory_partials import ENDPOINT_TOTALS, GAMMA, NEGATIVE_BUCKETS, SKETCH_K, ZERO_BUCKET

_NAMES = """
    SELECT hash(host, method, template) AS key, host, method, template AS path, any_value(origin) AS origin,
           any_value(spec_file) AS spec_file, any_value(operation_id) AS operation_id
    FROM path_templates GROUP BY host, method, template
"""


def distinct_estimate(column: str) -> str:
    """SQL for the distinct count a bottom-k sketch stands for: exact below SKETCH_K, else
    (k - 1) / (k-th smallest hash / 2^64)."""
    return (f"(CASE WHEN len({column}) < {SKETCH_K} THEN len({column}) "
            f"ELSE round(({SKETCH_K} - 1) / (list_max({column})::DOUBLE / 18446744073709551616.0)) END)::BIGINT")


def bucket_value(column: str) -> str:
    """SQL for the latency a bucket i stands for: 2 GAMMA^i / (GAMMA + 1), negated below zero."""
    value = f"2 * pow({GAMMA!r}, {{}}) / ({GAMMA!r} + 1)"
    return (f"CASE WHEN {column} = {ZERO_BUCKET} THEN 0.0 WHEN {column} < {ZERO_BUCKET} "
            f"THEN -{value.format(f'{NEGATIVE_BUCKETS} - {column}')} ELSE {value.format(column)} END")


_PERCENTILES = f"""
    WITH c AS (
        SELECT key, {bucket_value('bucket')} AS v,
               sum(n) OVER (PARTITION BY key ORDER BY bucket ROWS UNBOUNDED PRECEDING) AS upto,
               upto - n AS below, sum(n) OVER (PARTITION BY key) AS total
        FROM {ENDPOINT_TOTALS}_latency
    ), r AS (
        SELECT DISTINCT key, q, q * (total - 1) AS rank FROM c, (VALUES (0.5), (0.95), (0.99)) qs(q)
    ), e AS (  -- the values of the order statistics floor(rank) and ceil(rank) (0-based)
        SELECT r.key, r.q, r.rank,
               max(c.v) FILTER (WHERE floor(r.rank) >= c.below AND floor(r.rank) < c.upto) AS lo,
               max(c.v) FILTER (WHERE ceil(r.rank) >= c.below AND ceil(r.rank) < c.upto) AS hi
        FROM r JOIN c ON r.key = c.key GROUP BY r.key, r.q, r.rank
    )
    SELECT key,
           max(lo + (rank - floor(rank)) * (hi - lo)) FILTER (WHERE q = 0.5) AS latency_p50,
           max(lo + (rank - floor(rank)) * (hi - lo)) FILTER (WHERE q = 0.95) AS latency_p95,
           max(lo + (rank - floor(rank)) * (hi - lo)) FILTER (WHERE q = 0.99) AS latency_p99
    FROM e GROUP BY key
"""


def _histograms() -> str:
    """One JSON object (value -> requests) per column of the mix, keys in the order of
    DuckDB's ``histogram``; NULL where no request had a value."""
    columns = {"status": "status_codes", "auth_scheme": "auth", "exposure": "exposure",
               "request_content_type": "request_content_types", "response_content_type": "response_content_types"}
    per_value = " UNION ALL ".join(
        f"SELECT key, '{c}' AS kind, {c}::VARCHAR AS value, {'status' if c == 'status' else 0} AS rank, sum(n) AS n "
        f"FROM {ENDPOINT_TOTALS}_mix WHERE {c} IS NOT NULL GROUP BY key, {c}"
        for c in columns
    )
    objects = ", ".join(
        f"to_json(map_from_entries(list((value, n) ORDER BY rank, value) FILTER (WHERE kind = '{c}'))) AS {alias}"
        for c, alias in columns.items()
    )
    return f"SELECT key, {objects} FROM ({per_value}) GROUP BY key"


def endpoint_facts(db: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Traffic facts per (host, method, template) over every stored event."""
    return db.sql(
        f"""
        WITH names AS ({_NAMES}), dist AS ({_histograms()}), pct AS ({_PERCENTILES})
        SELECT n.host, n.method, n.path, n.origin, n.spec_file, n.operation_id,
               f.count, f.first_seen, f.last_seen, d.status_codes,
               p.latency_p50, p.latency_p95, p.latency_p99, {distinct_estimate('f.clients')} AS clients,
               d.auth, d.exposure, d.request_content_types, d.response_content_types
        FROM {ENDPOINT_TOTALS} f JOIN names n ON f.key = n.key
        LEFT JOIN dist d ON f.key = d.key LEFT JOIN pct p ON f.key = p.key
        """
    ).pl()


def query_params(db: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Query parameters per endpoint: name, occurrences, distinct values, type and a masked shape."""
    return db.sql(
        f"""
        WITH names AS ({_NAMES})
        SELECT n.host, n.method, n.path, p.name, p.seen, {distinct_estimate('p.value_hashes')} AS distinct_values,
               CASE WHEN p.integers = p.seen THEN 'integer' WHEN p.numbers = p.seen THEN 'number'
                    WHEN p.booleans = p.seen THEN 'boolean' WHEN p.uuids = p.seen THEN 'uuid'
                    WHEN p.dates = p.seen THEN 'date' ELSE 'string' END AS type,
               p.min_shape AS shape
        FROM {ENDPOINT_TOTALS}_params p JOIN names n ON p.key = n.key
        """
    ).pl()

"""Storage: enriched events as date-partitioned Parquet, everything else in a DuckDB catalog.

Only this package imports DuckDB; queries are named functions here.
"""

from apisight.store.catalog import Catalog
from apisight.store.events import apply_retention, write_events, write_findings

__all__ = ["Catalog", "apply_retention", "write_events", "write_findings"]

"""Storage: enriched events as date-partitioned Parquet, everything else in a DuckDB catalog.

Only this package imports DuckDB; queries are named functions here.
"""

from apisight.store.catalog import Catalog
from apisight.store.events import EventWriter, apply_retention

__all__ = ["Catalog", "EventWriter", "apply_retention"]

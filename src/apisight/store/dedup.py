"""A record is stored once, however often it is read.

Every event carries ``record_hash`` (:mod:`apisight.normalize.identity`): copies of one
record share it. A record repeated inside one file (a log without request ids or
sub-second times repeats genuine requests) is as many requests as it has lines, so the
store keeps, for each hash, as many events as the file that holds it most often: a run
keeps only what brings the count up to that. Whatever the order and overlap of the
runs, the store then holds what one run over all the files read would have stored, and
reading a file again, or ``access.log`` beside an overlapping ``access.log.1``, adds
nothing. Copies of a record always fall on the same day (its time is part of it), so
only the days a run touches are looked up.

The run's files are not yet listed when this runs, so they are rewritten in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from apisight.errors import StoreError
from apisight.store import manifest
from apisight.store.catalog import Catalog


@dataclass
class Deduplicated:
    """The run's files once copies of stored records are gone, and how many went."""

    duplicates: int = 0
    events: list[Path] = field(default_factory=list)
    sensitive: list[Path] = field(default_factory=list)
    by_source: dict[str, int] = field(default_factory=dict)  # input file -> records left out


def drop_stored_copies(catalog: Catalog, events: list[Path], sensitive: list[Path]) -> Deduplicated:
    """Remove from a run's not yet listed files the records the store (or the run) holds already."""
    if not events:
        return Deduplicated(0, [], sensitive)
    db = catalog.db
    db.execute("CREATE OR REPLACE TEMP TABLE _run AS SELECT event_id, source_file, record_hash, filename AS file "
               "FROM read_parquet(?, filename = true, union_by_name = true)", [[str(p) for p in events]])
    days = sorted({manifest.day_of(p.parent.name) for p in events}, key=lambda d: (d is not None, d))
    stored = manifest.listed(db, catalog.data_dir, "events", days)
    counted = ("SELECT record_hash, count(*) AS s FROM read_parquet(?, union_by_name = true) "
               "WHERE record_hash IN (SELECT record_hash FROM best) GROUP BY ALL") if stored else \
              "SELECT NULL::UBIGINT AS record_hash, 0 AS s WHERE false"
    drops = db.sql(f"""
        WITH per_file AS (
            SELECT record_hash, source_file, count(*) AS n FROM _run WHERE record_hash IS NOT NULL GROUP BY ALL
        ), best AS (
            SELECT record_hash, first(source_file ORDER BY n DESC, source_file) AS keep_file, max(n) AS n,
                   count(*) AS files
            FROM per_file GROUP BY ALL
        ), stored AS ({counted}
        ), quota AS (
            SELECT b.record_hash, b.keep_file, b.n - coalesce(s.s, 0) AS k
            FROM best b LEFT JOIN stored s USING (record_hash)
            WHERE b.files > 1 OR s.s IS NOT NULL
        )
        SELECT r.event_id, r.file, r.source_file FROM _run r JOIN quota q USING (record_hash)
        QUALIFY r.source_file IS DISTINCT FROM q.keep_file
             OR row_number() OVER (PARTITION BY r.record_hash, r.source_file ORDER BY r.event_id) > q.k
    """, params=[[str(p) for p in stored]] if stored else None).pl()
    db.execute("DROP TABLE _run")
    if drops.height == 0:
        return Deduplicated(0, events, sensitive)
    by_source = dict(drops.group_by("source_file").len().iter_rows())
    by_file = drops.group_by("file").agg("event_id")
    findings = {p.relative_to(manifest.dataset_root(catalog.data_dir, "sensitive")): p for p in sensitive}
    gone: set[Path] = set()
    events_root = manifest.dataset_root(catalog.data_dir, "events")
    for file, ids in by_file.iter_rows():
        path = Path(file)
        dropped = pl.Series(ids, dtype=pl.String)
        if _without(path, dropped):
            gone.add(path)
        twin = findings.get(path.relative_to(events_root))
        if twin is not None and _without(twin, dropped):
            gone.add(twin)
    return Deduplicated(drops.height, [p for p in events if p not in gone], [p for p in sensitive if p not in gone],
                        by_source)


def _without(path: Path, event_ids: pl.Series) -> bool:
    """Rewrite ``path`` without the rows of ``event_ids``; True if nothing was left (file removed)."""
    frame = pl.read_parquet(path)
    kept = frame.filter(~pl.col("event_id").is_in(event_ids.implode()))
    try:
        if kept.height == 0:
            path.unlink()
            return True
        if kept.height < frame.height:
            partial = path.with_name(f".{path.name}.tmp")
            kept.write_parquet(partial, compression="zstd", compression_level=1, statistics=True)
            partial.replace(path)
    except OSError as e:
        raise StoreError(f"cannot rewrite {path}: {e}") from e
    return False

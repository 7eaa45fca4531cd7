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
import pyarrow.parquet as pq

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
    run_files = [str(p) for p in events]
    days = sorted({manifest.day_of(p.parent.name) for p in events}, key=lambda d: (d is not None, d))
    # files stored before records had hashes cannot hold a copy anyone would recognise
    stored = [str(p) for p in manifest.listed(db, catalog.data_dir, "events", days)
              if "record_hash" in pq.read_schema(p).names]
    params = {"run": run_files, **({"stored": stored} if stored else {})}
    stored_hits = ("UNION SELECT DISTINCT record_hash FROM read_parquet($stored, union_by_name = true) "
                   "WHERE record_hash IN (SELECT record_hash FROM read_parquet($run, union_by_name = true))"
                   ) if stored else ""
    # first only the hashes that can be copies (repeated in the run, or stored already): a
    # set of 64-bit values, so a first read of a big day costs little memory and time
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE _candidates AS
        SELECT record_hash FROM read_parquet($run, union_by_name = true)
        WHERE record_hash IS NOT NULL GROUP BY ALL HAVING count(*) > 1
        {stored_hits}
    """, params)
    counted = ("SELECT record_hash, count(*) AS s FROM read_parquet($stored, union_by_name = true) "
               "WHERE record_hash IN (SELECT record_hash FROM _candidates) GROUP BY ALL") if stored else \
              "SELECT NULL::UBIGINT AS record_hash, 0 AS s WHERE false"
    # per candidate: the input file whose copies are kept, and how many of them are new
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE _quota AS
        WITH per_file AS (
            SELECT record_hash, source_file, count(*) AS n FROM read_parquet($run, union_by_name = true)
            WHERE record_hash IN (SELECT record_hash FROM _candidates) GROUP BY ALL
        ), best AS (
            SELECT record_hash, first(source_file ORDER BY n DESC, source_file) AS keep_file, max(n) AS n,
                   count(*) AS files
            FROM per_file GROUP BY ALL
        ), stored AS ({counted})
        SELECT b.record_hash, b.keep_file, b.n, b.n - coalesce(s.s, 0) AS k
        FROM best b LEFT JOIN stored s USING (record_hash)
        WHERE b.files > 1 OR s.s IS NOT NULL
    """, params)
    try:
        if not db.execute("SELECT count(*) FROM _quota").fetchall()[0][0]:
            return Deduplicated(0, events, sensitive)
        # the rare copies kept in part (a record repeated in one file, some of its copies stored): by position
        db.execute("""
            CREATE OR REPLACE TEMP TABLE _partly AS
            SELECT r.event_id FROM read_parquet($run, union_by_name = true) r
            JOIN _quota q ON r.record_hash = q.record_hash AND r.source_file = q.keep_file AND q.k > 0 AND q.k < q.n
            QUALIFY row_number() OVER (PARTITION BY r.record_hash ORDER BY r.event_id) > q.k
        """, {"run": run_files})
        return _apply(catalog, events, sensitive)
    finally:
        db.execute("DROP TABLE IF EXISTS _candidates; DROP TABLE IF EXISTS _quota; DROP TABLE IF EXISTS _partly")


_DROPPED = """
    SELECT r.event_id, r.source_file FROM read_parquet(?) r JOIN _quota q USING (record_hash)
    WHERE r.source_file IS DISTINCT FROM q.keep_file OR q.k <= 0 OR r.event_id IN (SELECT event_id FROM _partly)
"""


def _apply(catalog: Catalog, events: list[Path], sensitive: list[Path]) -> Deduplicated:
    """Rewrite (or delete) each of the run's files that holds copies, one file at a time."""
    db = catalog.db
    findings = {p.relative_to(manifest.dataset_root(catalog.data_dir, "sensitive")): p for p in sensitive}
    events_root = manifest.dataset_root(catalog.data_dir, "events")
    gone: set[Path] = set()
    result = Deduplicated()
    for path in events:
        dropped = db.sql(_DROPPED, params=[str(path)]).pl()
        if dropped.height == 0:
            continue
        result.duplicates += dropped.height
        for source, n in dropped.group_by("source_file").len().iter_rows():
            result.by_source[source] = result.by_source.get(source, 0) + n
        twin = findings.get(path.relative_to(events_root))
        pair = [path] if twin is None else [path, twin]  # the findings file of the same batch and day
        if dropped.height >= pq.ParquetFile(path).metadata.num_rows:  # every record a copy: nothing to read
            _unlink(pair)
            gone.update(pair)
            continue
        gone.update(f for f in pair if _without(f, dropped["event_id"]))
    result.events = [p for p in events if p not in gone]
    result.sensitive = [p for p in sensitive if p not in gone]
    return result


def _without(path: Path, event_ids: pl.Series) -> bool:
    """Rewrite ``path`` without the rows of ``event_ids``; True if nothing was left (file removed)."""
    frame = pl.read_parquet(path)
    kept = frame.filter(~pl.col("event_id").is_in(event_ids.implode()))
    if kept.height == 0:
        _unlink([path])
        return True
    if kept.height < frame.height:
        partial = path.with_name(f".{path.name}.tmp")
        try:
            kept.write_parquet(partial, compression="zstd", compression_level=1, statistics=True)
            partial.replace(path)
        except OSError as e:
            raise StoreError(f"cannot rewrite {path}: {e}") from e
    return False


def _unlink(paths: list[Path]) -> None:
    try:
        for p in paths:
            p.unlink()
    except OSError as e:
        raise StoreError(f"cannot remove {e.filename}: {e.strerror}") from e

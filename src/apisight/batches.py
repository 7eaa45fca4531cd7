"""The work done on one batch after it is read: parse, normalise, store.

A :class:`BatchJob` carries everything that work needs and nothing that cannot be
pickled, so the same function runs in the reading process or in a worker process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polars as pl

from apisight.config import Settings
from apisight.events import EVENT_SCHEMA
from apisight.fingerprints import Fingerprinter
from apisight.normalize import Normalizer
from apisight.normalize.stage import credential_headers
from apisight.readers.base import MALFORMED_SCHEMA, ParseResult
from apisight.sensitive.stage import SensitiveStage
from apisight.store import write_events, write_findings


@dataclass(frozen=True)
class BatchJob:
    """One batch of one source, ready to run anywhere."""

    task: Callable[[], ParseResult]  # the reader's parsing work for this batch
    reader: str
    file: str
    batch_id: str  # unique in the store: "<run id>-<batch number>"
    data_dir: str
    settings_json: str
    key: bytes


@dataclass
class BatchOutcome:
    """What the reading process needs to know once a batch is stored."""

    stored: int
    malformed: pl.DataFrame
    bytes_read: int
    files: list[Path]  # event files written (not yet listed: the run commits them)
    findings: list[Path]  # sensitive-data files written
    broke_off: bool = False  # the input could not be read past this batch


def run_batch(job: BatchJob) -> BatchOutcome:
    """Parse, normalise and write one batch; the records themselves never come back."""
    parsed = job.task()
    files: list[Path] = []
    findings_files: list[Path] = []
    malformed = parsed.malformed
    stored = 0
    normalizer = _normalizer(job.settings_json, job.key)
    if parsed.records.height:
        events, findings, failed = _normalize_guarded(normalizer, parsed.records, job, job.batch_id)
        stored = events.height
        if failed.height:
            malformed = pl.concat([malformed, failed]).sort("line_no")
        files = write_events(Path(job.data_dir), events, job.batch_id)
        findings_files = write_findings(Path(job.data_dir), findings, job.batch_id)
    if malformed.height and normalizer.sensitive is not None:  # set aside, but no value kept in clear
        malformed = malformed.with_columns(normalizer.sensitive.scrub(malformed["excerpt"]).alias("excerpt"))
    return BatchOutcome(stored, malformed, parsed.bytes_read, files, findings_files, parsed.broke_off)


def _normalize_guarded(normalizer: Normalizer, raw: pl.DataFrame, job: BatchJob,
                       first_id: str) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Events, findings and the records that could not be normalised: a batch that raises is
    normalised in halves (ids stay unique: ``<batch>-a-…``, ``<batch>-b-…``) until only the
    records failing alone are left, so one hostile value never costs the rest of the batch."""
    try:
        events, findings = normalizer.normalize(raw, source=job.reader, source_file=job.file, first_id=first_id)
        return events, findings, pl.DataFrame(schema=MALFORMED_SCHEMA)
    except Exception as e:  # noqa: BLE001 - isolate whatever a hostile value makes a kernel raise
        if raw.height <= 1:
            reason = f"cannot be normalised: {type(e).__name__}: {(str(e).splitlines() or [''])[0][:200]}"
            failed = raw.select(pl.col("line_no").cast(pl.Int64), pl.lit(reason).alias("reason"),
                                pl.lit("").alias("excerpt"))
            return pl.DataFrame(schema=EVENT_SCHEMA), pl.DataFrame(), failed
    half = raw.height // 2
    parts = [_normalize_guarded(normalizer, raw.slice(0, half), job, f"{first_id}-a"),
             _normalize_guarded(normalizer, raw.slice(half), job, f"{first_id}-b")]
    found = [p[1] for p in parts if p[1].height]
    return (pl.concat([p[0] for p in parts]), pl.concat(found) if found else pl.DataFrame(),
            pl.concat([p[2] for p in parts]))


@cache
def _normalizer(settings_json: str, key: bytes) -> Normalizer:
    """One normaliser per process and run settings (its caches then serve every batch)."""
    settings = Settings.model_validate_json(settings_json)
    fingerprint = Fingerprinter(key)
    skip = credential_headers(settings.auth)
    scanner = SensitiveStage(fingerprint, skip_headers=skip) if settings.sensitive.enabled else None
    return Normalizer(settings, fingerprint, scanner)

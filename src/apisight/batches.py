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
from apisight.fingerprints import Fingerprinter
from apisight.normalize import Normalizer
from apisight.normalize.stage import credential_headers
from apisight.readers.base import ParseResult
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


def run_batch(job: BatchJob) -> BatchOutcome:
    """Parse, normalise and write one batch; the records themselves never come back."""
    parsed = job.task()
    files: list[Path] = []
    findings_files: list[Path] = []
    if parsed.records.height:
        events, findings = _normalizer(job.settings_json, job.key).normalize(
            parsed.records, source=job.reader, source_file=job.file, first_id=job.batch_id
        )
        files = write_events(Path(job.data_dir), events, job.batch_id)
        findings_files = write_findings(Path(job.data_dir), findings, job.batch_id)
    return BatchOutcome(parsed.records.height, parsed.malformed, parsed.bytes_read, files, findings_files)


@cache
def _normalizer(settings_json: str, key: bytes) -> Normalizer:
    """One normaliser per process and run settings (its caches then serve every batch)."""
    settings = Settings.model_validate_json(settings_json)
    fingerprint = Fingerprinter(key)
    skip = credential_headers(settings.auth)
    scanner = SensitiveStage(fingerprint, skip_headers=skip) if settings.sensitive.enabled else None
    return Normalizer(settings, fingerprint, scanner)

"""The run: sources -> readers -> normalise -> store, in bounded micro-batches.

The reading process cuts inputs into chunks of whole lines; each chunk becomes a
:class:`~apisight.batches.BatchJob` (parse, normalise, write) run by the
:class:`~apisight.executor.BatchRunner`. At most a few batches are in flight, so memory
stays bounded whatever the input size, and results are accounted in input order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from apisight.batches import BatchJob, BatchOutcome
from apisight.config import Settings
from apisight.detect.engine import detect_stored
from apisight.detect.registry import enabled_detectors
from apisight.discovery.inventory import update_inventory
from apisight.discovery.spec import Spec, load_spec
from apisight.errors import InputError
from apisight.executor import WORKER_THRESHOLD_BYTES, BatchRunner, run_isolated
from apisight.fingerprints import load_key
from apisight.normalize.redact import scrub_excerpt
from apisight.posture.findings import run_checks
from apisight.readers import registry
from apisight.readers.base import ParseResult, Reader, ReaderOptions, unreadable
from apisight.sensitive.dlp import evaluate_dlp
from apisight.sources import Source, expand
from apisight.store import apply_retention
from apisight.store.dedup import drop_stored_copies
from apisight.store.layout import quarantine_dir
from apisight.store.read_files import already_read, remember
from apisight.store.sensitive import run_totals as sensitive_totals
from apisight.store.writer import Writer

#: Characters of a malformed record shown in summaries and quarantine files, after scrubbing.
SHOWN_EXCERPT_CHARS = 200
#: Batches submitted but not yet accounted for (results are counted in input order).
#: Only the worker's batches are still running (at most ``WORKER_QUEUE``); the rest are
#: done and hold just their counts, malformed rows and file names, so while the worker
#: is slow (starting, or given a big batch) the reading process goes on with batches of
#: its own instead of waiting. Still a bound, whatever the input size.
MAX_IN_FLIGHT = 32
#: Runs with at least this many events are detected in a fresh process: the memory the
#: stages before it freed stays with this process's allocators, and detection's own
#: working memory would come on top (a 5M-line day: 1.09 GB peak in one process, 0.89 GB
#: apart; 1M lines: 0.70 GB in one). Smaller runs do not pay the process start (~1 s).
ISOLATE_DETECTION_EVENTS = 2_000_000


@dataclass
class Progress:
    """Running totals, reported after every batch."""

    total_bytes: int | None
    bytes_done: int = 0
    records: int = 0
    malformed: int = 0
    current: str = ""


@dataclass
class FileResult:
    file: str
    format: str
    records: int = 0
    malformed: int = 0
    bytes: int = 0
    duplicates: int = 0  # records the store held already (from an earlier run or another input)
    whole: bool = True  # read to its end (not cut short by damage or a decompression limit)
    first_errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RunRequest:
    """What to analyse and how."""

    inputs: list[str]
    data_dir: Path
    settings: Settings
    format: str = "auto"
    options: ReaderOptions = field(default_factory=ReaderOptions)
    per_file_options: dict[str, tuple[str, ReaderOptions]] = field(default_factory=dict)
    specs: list[Path] = field(default_factory=list)  # OpenAPI documents for discovery
    wait_seconds: float = 0.0  # for another command writing to the data directory


def analyze(request: RunRequest, on_progress: Callable[[Progress], None] | None = None) -> dict[str, Any]:
    """Read every input, store its events and return the run summary (JSON-ready).

    The run is one write transaction (:class:`~apisight.store.writer.Writer`): readers see
    all of it or none of it, and records the store holds already are not stored again.
    """
    sources = expand(request.inputs)
    specs = [load_spec(p) for p in request.specs]  # a bad spec stops the run before anything is written
    skipped: list[dict[str, str]] = []
    readers: list[tuple[Source, Reader | None]] = []
    for source in sources:
        try:
            readers.append((source, _reader_for(source, request)))
        except (InputError, OSError) as e:
            if not source.walked:  # a file the user named: stop before writing anything
                raise InputError(str(e) if isinstance(e, InputError) else f"{source.name}: {e}") from e
            skipped.append({"file": source.name, "reason": str(e)})
    with Writer(request.data_dir, "analyze", request.wait_seconds) as tx:
        summary = _run(tx, request, readers, specs, on_progress)
        summary["skipped"] = skipped
        tx.commit()
    summary["recovered"] = tx.recovered
    summary["lost_files"] = tx.lost
    return summary


def _run(tx: Writer, request: RunRequest, readers: list[tuple[Source, Reader | None]], specs: list[Spec],
         on_progress: Callable[[Progress], None] | None) -> dict[str, Any]:
    started = datetime.now(UTC)
    settings = request.settings
    identities = {s.name: i for s, _ in readers if (i := s.identity()) is not None}
    with tx.catalog() as catalog:
        known = already_read(catalog.db, identities)
    ingest = _ingest(tx, request, [(s, r) for s, r in readers if s.name not in known], on_progress)
    quarantine_file = _write_quarantine(request.data_dir, tx.run_id, ingest.quarantine)
    finished = datetime.now(UTC)
    with tx.catalog() as catalog:
        kept = drop_stored_copies(catalog, ingest.events, ingest.findings)
        catalog.add_files("events", kept.events, tx.run_id)
        catalog.add_files("sensitive", kept.sensitive, tx.run_id)
        removed = apply_retention(catalog, settings.retention.days)
        listed = set(catalog.event_files())
        stored = [p for p in kept.events if p in listed]
        for result in ingest.results:
            result.duplicates = kept.by_source.get(result.file, 0)
        remember(catalog.db, tx.run_id, finished,  # a file cut short is read again next time
                 [(identities[r.file], r.file, r.bytes) for r in ingest.results if r.file in identities and r.whole])
        overview = catalog.run_overview(stored)
        discovery_started = datetime.now(UTC)
        inventory = update_inventory(
            catalog, stored, specs, tx.run_id, settings.discovery.quiet_after_days, settings.discovery.owners,
            settings.discovery.max_templates_per_host,
        )
        discovery_seconds = (datetime.now(UTC) - discovery_started).total_seconds()
        summary = _summary(tx.run_id, request, ingest, kept.duplicates, overview, removed, quarantine_file,
                           started, finished)
        summary["already_read"] = [{"file": name, **info} for name, info in known.items()]
        summary["inventory"] = {**inventory.as_dict(), "seconds": round(discovery_seconds, 3)}
        summary["sensitive"] = sensitive_totals(catalog.db, tx.run_id)
        summary["alerts"] = {"dlp": evaluate_dlp(catalog, settings.sensitive.dlp, tx.run_id)}
    if settings.detect.enabled and stored:  # with the catalog closed: it may run in another process
        args = (request.data_dir, stored, settings, tx.run_id, tx.catalog_file)
        if ingest.progress.records >= ISOLATE_DETECTION_EVENTS:
            summary["detection"] = run_isolated(detect_stored, *args, what="detection",
                                                rerun="Run the same command again (what was already stored is skipped).")
        else:
            summary["detection"] = detect_stored(*args)
        summary["alerts"].update(summary["detection"]["by_detector"])
    elif settings.detect.enabled:  # nothing new to detect on
        summary["alerts"].update({d.name: 0 for d in enabled_detectors(settings.detect)})
    with tx.catalog() as catalog:
        if settings.posture.enabled and (stored or removed or tx.lost):  # else the findings stand as they are
            summary["findings"] = run_checks(catalog, tx.run_id, settings=settings.posture)
        catalog.record_run(tx.run_id, started, finished, summary, [r.__dict__ for r in ingest.results])
    return summary


@dataclass
class Ingested:
    """What reading the inputs left: per-file counts, the files written, the set-aside records."""

    progress: Progress
    results: list[FileResult] = field(default_factory=list)
    events: list[Path] = field(default_factory=list)
    findings: list[Path] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)


def _ingest(tx: Writer, request: RunRequest, readers: list[tuple[Source, Reader | None]],
            on_progress: Callable[[Progress], None] | None) -> Ingested:
    """Parse, normalise and write every batch of every input (files no catalog lists yet)."""
    settings = request.settings
    key = load_key(request.data_dir, settings.fingerprint.key_file)
    sizes = [s.size() for s, _ in readers]
    done = Ingested(Progress(None if None in sizes else sum(s or 0 for s in sizes)))
    in_flight: deque[tuple[Future[BatchOutcome], FileResult]] = deque()

    def finish_oldest() -> None:
        future, file_result = in_flight.popleft()
        outcome = runner.outcome(future)
        done.events.extend(outcome.files)
        done.findings.extend(outcome.findings)
        _count(outcome, file_result, done.progress, done.quarantine, settings)
        if on_progress:
            on_progress(done.progress)

    batch_no = 0
    settings_json = settings.model_dump_json()
    total = done.progress.total_bytes
    with BatchRunner(use_worker=total is not None and total >= WORKER_THRESHOLD_BYTES) as runner:
        for source, reader in readers:
            result = FileResult(source.name, reader.name if reader else "empty")
            done.results.append(result)
            done.progress.current = source.name
            if reader is None:
                continue
            for task in _tasks(reader, source):
                batch_no += 1
                job = BatchJob(task, reader.name, source.name, f"{tx.run_id}-{batch_no}", str(request.data_dir),
                               settings_json, key)
                in_flight.append((runner.submit(job), result))
                while in_flight and (in_flight[0][0].done() or len(in_flight) > MAX_IN_FLIGHT):
                    finish_oldest()
        while in_flight:
            finish_oldest()
    return done


def _reader_for(source: Source, request: RunRequest) -> Reader | None:
    """The reader for one source: per-file override, forced format, or auto-detection."""
    if source.name in request.per_file_options:
        name, options = request.per_file_options[source.name]
        return registry.create(name, options)
    if request.format != "auto":
        return registry.create(request.format, request.options)
    if request.options.log_format:
        return registry.create("nginx", request.options)
    return registry.detect(source, request.options)


def _tasks(reader: Reader, source: Source) -> Iterator[Callable[[], ParseResult]]:
    """The reader's tasks for ``source``; a source that cannot be read becomes one problem."""
    try:
        yield from reader.tasks(source)
    except OSError as e:
        yield partial(unreadable, 0, f"cannot read {source.name}: {e.strerror or e}")


def _count(
    parsed: BatchOutcome, result: FileResult, progress: Progress, quarantine: list[dict[str, Any]],
    settings: Settings,
) -> None:
    n_bad = parsed.malformed.height
    result.whole = result.whole and not parsed.broke_off
    result.records += parsed.stored
    result.malformed += n_bad
    result.bytes += parsed.bytes_read
    progress.records += parsed.stored
    progress.malformed += n_bad
    progress.bytes_done += parsed.bytes_read
    keep = settings.capture.quarantine_lines
    room = max(keep - len(quarantine), 0)
    wanted = max(room, 5 - len(result.first_errors)) if keep else 0
    if not n_bad or wanted <= 0:
        return
    rows = parsed.malformed.head(wanted)
    # scrub first, then cut: a secret straddling the cut must not survive in part
    rows = rows.with_columns(scrub_excerpt(rows["excerpt"], settings).str.slice(0, SHOWN_EXCERPT_CHARS))
    records = [{**row, "file": result.file} for row in rows.to_dicts()]
    result.first_errors.extend(records[: max(5 - len(result.first_errors), 0)])
    quarantine.extend(records[:room])


def _write_quarantine(data_dir: Path, run_id: str, rows: list[dict[str, Any]]) -> Path | None:
    if not rows:
        return None
    folder = quarantine_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def _summary(
    run_id: str,
    request: RunRequest,
    ingest: Ingested,
    duplicates: int,
    overview: dict[str, Any],
    removed: list[Any],
    quarantine_file: Path | None,
    started: datetime,
    finished: datetime,
) -> dict[str, Any]:
    seconds = max((finished - started).total_seconds(), 1e-9)
    progress, results = ingest.progress, ingest.results
    sources: dict[str, int] = {}
    for r in results:
        sources[r.format] = sources.get(r.format, 0) + r.records
    return {
        "run_id": run_id,
        "data_dir": str(request.data_dir),
        "records": progress.records,
        "stored": progress.records - duplicates,
        "duplicates": duplicates,
        "malformed": {
            "total": progress.malformed,
            "by_file": {r.file: r.malformed for r in results},
            "examples": [e for r in results for e in r.first_errors][:10],
            "quarantine_file": str(quarantine_file) if quarantine_file else None,
        },
        "sources": sources,
        "files": [
            {"file": r.file, "format": r.format, "records": r.records, "duplicates": r.duplicates,
             "malformed": r.malformed, "bytes": r.bytes}
            for r in results
        ],
        "bytes": progress.bytes_done,
        **overview,
        "retention": {"days": request.settings.retention.days, "removed_days": [str(d) for d in removed]},
        "seconds": round(seconds, 3),
        "records_per_second": round(progress.records / seconds),
    }


def check_inputs(inputs: list[str]) -> None:
    """Fail early, before anything is written, if an input is missing."""
    if not inputs:
        raise InputError("no input given: pass files, directories or - for stdin")
    expand(inputs)

"""Where batches run: in the reading process, and in one worker process for big inputs.

Polars releases the GIL, but two threads calling it contend for one thread pool and
ran no faster than one here; a second *process* does use the second core. Starting
it costs about half a second, so small inputs never pay for it. While the worker
starts, and whenever it already has work queued, the reading process runs batches
itself, so neither core waits for the other.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Self, TypeVar

from apisight.batches import BatchJob, BatchOutcome, run_batch
from apisight.errors import ApisightError

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Inputs smaller than this are processed in-process only.
WORKER_THRESHOLD_BYTES = 48 * 1024 * 1024
#: Batches queued for the worker at once (one running, one waiting).
WORKER_QUEUE = 2


class BatchRunner:
    """Runs :class:`BatchJob`s, returning futures in submission order."""

    def __init__(self, use_worker: bool) -> None:
        self._pool = (
            ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) if use_worker else None
        )
        self._remote: list[Future[BatchOutcome]] = []
        self._jobs: dict[Future[BatchOutcome], BatchJob] = {}
        if self._pool is not None:
            self._pool.submit(_ready)  # start the worker now, while the first batches are read

    def submit(self, job: BatchJob) -> Future[BatchOutcome]:
        self._remote = [f for f in self._remote if not f.done()]
        if self._pool is not None and len(self._remote) < WORKER_QUEUE:
            future = self._pool.submit(run_batch, job)
            self._remote.append(future)
            self._jobs[future] = job
            return future
        local: Future[BatchOutcome] = Future()
        try:
            local.set_result(run_batch(job))
        except Exception as e:  # noqa: BLE001 - surfaced by future.result(), in input order
            local.set_exception(e)
        return local

    def outcome(self, future: Future[BatchOutcome]) -> BatchOutcome:
        """The result of a submitted job; if the worker died, the job is run here instead."""
        job = self._jobs.pop(future, None)
        try:
            return future.result()
        except BrokenProcessPool:
            if job is None:
                raise
            if self._pool is not None:
                log.warning("worker process unavailable; continuing in one process")
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
            return run_batch(job)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ready() -> None:
    """Nothing: submitting it makes the pool start its process early."""


def run_isolated(fn: Callable[..., T], *args: Any, what: str = "the stage", rerun: str = "") -> T:
    """``fn(*args)`` in a fresh process, its result returned here.

    For a stage whose working memory is large and short-lived (detection over a big
    run): the allocator of a long-lived process keeps what earlier stages freed, so
    running the stage beside it would stack the two peaks. If the process cannot be
    started, the stage runs here instead; if it dies while running (killed for memory,
    a crash), that is an error naming ``what`` and how to ``rerun`` it — not a second
    try here, where the same cause would take this process down with it.
    """
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        try:
            pool.submit(_ready).result()
        except (BrokenProcessPool, OSError):
            log.warning("could not start a process for %s; running it in this one", what)
            return fn(*args)
        try:
            return pool.submit(fn, *args).result()
        except BrokenProcessPool as e:
            raise ApisightError(
                f"the process running {what} ended unexpectedly (killed for lack of memory, or a crash); "
                f"nothing of this run was kept. {rerun}".strip()
            ) from e
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

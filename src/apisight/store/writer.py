"""Write transactions on a data directory: one writer at a time, all of a run or none of it.

A command that changes the store (``analyze``, ``detect --replay``) opens a
:class:`Writer`. It takes the directory's lock (a second writer waits, or is refused with
a message naming the first), copies the committed catalog to a working copy in
``.work/<run id>/``, and the stages change only that copy, the run's own new Parquet
files (which no catalog lists yet) and a new detection-state folder. Readers go on
reading the committed catalog meanwhile and never see a half-written run.
:meth:`Writer.commit` makes everything visible at once with one rename of the working
catalog over the committed one, then deletes what the new catalog no longer lists.

A run killed at any point leaves its working folder behind; the next writer finds it,
deletes the run's files and says so (or, if the rename had happened, finishes its
clean-up): the store is as it was before the run, or as the whole run left it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Self

import duckdb

from apisight.errors import StoreError
from apisight.store import manifest
from apisight.store.catalog import Catalog
from apisight.store.layout import catalog_path, detect_dir, quarantine_dir

#: Files and folders a run creates are its owner's only.
PRIVATE_UMASK = 0o077
LOCK = ".lock"
WORK = ".work"
JOURNAL = "journal.json"
COMMITTED_WAL = "committed.wal"  # the committed catalog's write-ahead log, moved aside during a commit
DETECTION_STATE = "detection_state"  # the pointer naming the current detection-state folder


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


@dataclass
class Writer:
    """The one write transaction on ``data_dir``; use as a context manager, then :meth:`commit`."""

    data_dir: Path
    command: str
    wait_seconds: float = 0.0
    run_id: str = field(default_factory=new_run_id)
    recovered: list[dict[str, Any]] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # listed files found deleted from disk
    _lock: IO[str] | None = None
    _committed: bool = False

    @property
    def work_dir(self) -> Path:
        return self.data_dir / WORK / self.run_id

    @property
    def catalog_file(self) -> Path:
        """The working copy of the catalog that this transaction's stages change."""
        return self.work_dir / catalog_path(self.data_dir).name

    def catalog(self, read_only: bool = False) -> Catalog:
        return Catalog(self.data_dir, read_only=read_only, file=self.catalog_file)

    def __enter__(self) -> Self:
        _private_umask(enter=True)  # everything this run writes: its owner's only
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            make_private(self.data_dir)
            self._lock = _acquire(self.data_dir, self.command, self.wait_seconds)
        except OSError as e:
            _private_umask(enter=False)
            raise StoreError(f"cannot create the data directory {self.data_dir}: {e}") from e
        except BaseException:
            _private_umask(enter=False)
            raise
        try:
            self.recovered = recover(self.data_dir)
            _adopt_files(self.data_dir, self.work_dir)
            self.work_dir.mkdir(parents=True)
            journal = {"run_id": self.run_id, "command": self.command, "pid": os.getpid(),
                       "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
            (self.work_dir / JOURNAL).write_text(json.dumps(journal), encoding="utf-8")
            _copy_committed(self.data_dir, self.catalog_file)
            with self.catalog() as working:
                _delete(manifest.unlisted(working.db, self.data_dir))  # leftovers no catalog lists
                self.lost = [str(p) for p in manifest.missing(working.db, self.data_dir)]
                for dataset in manifest.DATASETS:  # files deleted by hand: their days count again without them
                    root = manifest.dataset_root(self.data_dir, dataset)
                    manifest.forget(working.db, self.data_dir, dataset,
                                    [p for p in map(Path, self.lost) if p.is_relative_to(root)])
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        try:
            if not self._committed:
                _roll_back(self.data_dir, self.run_id)
        finally:
            self._release()

    def commit(self) -> None:
        """Make the run visible: the working catalog replaces the committed one in one rename."""
        with self.catalog() as working:  # every stage has closed its connection by now
            stale = manifest.unlisted(working.db, self.data_dir)
            state = working.pointer(DETECTION_STATE)
            working.db.execute("CHECKPOINT")
        _replace_committed(self.data_dir, self.work_dir)
        self._committed = True
        _delete(stale)  # days retention took, now that no committed catalog lists them
        _prune_detection_states(self.data_dir, keep=state)
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def _release(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None
            _private_umask(enter=False)


_umask_lock = threading.Lock()
_umask_users: list[int] = []  # the umask before the first writer of this process, while any is open


def _private_umask(enter: bool) -> None:
    """Owner-only file modes while any writer of this process is open, the old umask after."""
    with _umask_lock:
        if enter:
            previous = os.umask(PRIVATE_UMASK)
            _umask_users.append(previous if not _umask_users else _umask_users[0])
        elif _umask_users:
            first = _umask_users.pop()
            if not _umask_users:
                os.umask(first)


def make_private(data_dir: Path) -> None:
    """The data directory and all in it readable by its owner only, whatever the umask was
    when it was written (events and the catalog hold personal data, masked or not)."""
    for folder, dirs, files in os.walk(data_dir):
        for name, mode in [(folder, 0o700), *((os.path.join(folder, f), 0o600) for f in files)]:
            with contextlib.suppress(FileNotFoundError):
                if os.lstat(name).st_mode & 0o077:
                    os.chmod(name, mode)


def _replace_committed(data_dir: Path, work_dir: Path) -> None:
    """The working catalog of ``work_dir`` in place of the committed one, in one rename.

    A write-ahead log a crash left beside the committed catalog was copied with it, so its
    changes are in the working copy; it is moved aside first (a log left beside the new
    file would be replayed onto it), into the working folder, where a roll-back finds it
    and puts it back if the rename never happened.
    """
    committed = catalog_path(data_dir)
    working = work_dir / committed.name
    try:
        _fsync(working)
        wal = committed.with_name(committed.name + ".wal")
        if wal.exists():
            os.replace(wal, work_dir / COMMITTED_WAL)
        os.replace(working, committed)
        _fsync(data_dir)
    except OSError as e:
        raise StoreError(f"cannot commit the run to {committed}: {e}") from e


def recover(data_dir: Path) -> list[dict[str, Any]]:
    """Deal with runs that were interrupted: roll back those not committed, tidy the others."""
    found = []
    work = data_dir / WORK
    for folder in sorted(work.iterdir()) if work.is_dir() else []:
        try:
            journal = json.loads((folder / JOURNAL).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            journal = {"run_id": folder.name}
        run_id = str(journal.get("run_id") or folder.name)
        if (folder / catalog_path(data_dir).name).exists():  # never renamed over the committed one
            aside = folder / COMMITTED_WAL
            if aside.exists():  # killed between moving the committed catalog's log aside and the rename
                os.replace(aside, catalog_path(data_dir).with_name(catalog_path(data_dir).name + ".wal"))
            removed = _roll_back(data_dir, run_id)
            found.append({**journal, "action": "rolled back", "files_removed": removed})
        else:
            found.append({**journal, "action": "committed; its clean-up was finished now"})
        shutil.rmtree(folder, ignore_errors=True)
    return found


def _roll_back(data_dir: Path, run_id: str) -> int:
    """Delete everything a run wrote: its Parquet files, detection state, quarantine file, working copy."""
    files = [p for dataset in manifest.DATASETS for pattern in (f"*/part-{run_id}-*.parquet", f"*/.part-{run_id}-*")
             for p in manifest.dataset_root(data_dir, dataset).glob(pattern)]
    _delete(files)
    shutil.rmtree(detect_dir(data_dir) / run_id, ignore_errors=True)
    (quarantine_dir(data_dir) / f"{run_id}.jsonl").unlink(missing_ok=True)
    shutil.rmtree(data_dir / WORK / run_id, ignore_errors=True)
    return len(files)


def _acquire(data_dir: Path, command: str, wait_seconds: float) -> IO[str]:
    """The directory's write lock; its file says who holds it, for the one refused."""
    path = data_dir / LOCK
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                handle.seek(0)
                holder = _holder(handle.read())
                handle.close()
                raise StoreError(
                    f"{data_dir} is being written by {holder}; wait for it to finish, or pass --wait SECONDS "
                    "to queue behind it (reading commands work meanwhile)"
                ) from None
            time.sleep(0.1)
        except OSError as e:  # no locking on this file system (some network mounts)
            handle.close()
            raise StoreError(f"cannot lock {path}: {e.strerror or e}; use a local data directory") from e
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"command": command, "pid": os.getpid(),
                             "since": datetime.now(UTC).isoformat(timespec="seconds")}))
    handle.flush()
    return handle


def _holder(text: str) -> str:
    try:
        info = json.loads(text)
        return f"`apisight {info['command']}` (pid {info['pid']}, since {info['since']})"
    except (ValueError, KeyError, TypeError):
        return "another apisight command"


def _copy_committed(data_dir: Path, target: Path) -> None:
    """The committed catalog (with a write-ahead log a crash may have left) as the working copy."""
    committed = catalog_path(data_dir)
    if not committed.exists():
        return
    try:
        shutil.copyfile(committed, target)
        wal = committed.with_name(committed.name + ".wal")
        if wal.exists():
            shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    except OSError as e:
        raise StoreError(f"cannot copy the catalog {committed} to start a run: {e}") from e
    try:  # open once so the copy is whole and current before any stage reads it
        duckdb.connect(str(target)).close()
    except duckdb.Error as e:
        raise StoreError(f"the catalog {committed} cannot be opened: {e}") from e


def _adopt_files(data_dir: Path, work_dir: Path) -> None:
    """A catalog from before the list of stored files gets it in a commit of its own, before
    the run writes a file: until then readers take every file on disk as stored."""
    committed = catalog_path(data_dir)
    if not committed.exists():
        return
    with Catalog(data_dir, read_only=True) as current:
        if manifest.has_list(current.db):
            return
    adopting = work_dir.with_name(work_dir.name + "-adopt")
    adopting.mkdir(parents=True)
    try:
        _copy_committed(data_dir, adopting / committed.name)
        Catalog(data_dir, file=adopting / committed.name).close()  # opening read-write adopts the files
        _replace_committed(data_dir, adopting)
    finally:
        shutil.rmtree(adopting, ignore_errors=True)


def _prune_detection_states(data_dir: Path, keep: str | None) -> None:
    """Detection states no committed catalog points at (older ones, an interrupted run's)."""
    root = detect_dir(data_dir)
    if keep is None or not root.is_dir():
        return
    for entry in root.iterdir():
        if entry.name == keep:
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:  # the single state folder of earlier versions, now moved to its own folder
            entry.unlink(missing_ok=True)


def _delete(files: list[Path]) -> None:
    for f in files:
        f.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

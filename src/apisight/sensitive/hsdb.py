"""Compiled Hyperscan databases, kept on disk between processes and runs.

Compiling the recognizer catalogue takes about a quarter of a second, paid by every
process that scans (the reading process and its worker, on every run). A compiled
database depends only on the expressions, their ids and flags, and the Hyperscan build,
so it is saved once under the user's cache directory, named by a hash of exactly those,
and loaded (well under a millisecond) from then on. It holds patterns, never data.

``APISIGHT_CACHE_DIR`` moves the cache; a cache that cannot be written or read is
simply not used: the database is compiled as before.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import hyperscan

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """Where compiled databases are kept."""
    if env := os.environ.get("APISIGHT_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "apisight"


def block_database(expressions: list[bytes], flags: list[int]) -> hyperscan.Database:
    """A block-mode database of ``expressions`` (ids are their positions), from the cache if there.

    Raises ``hyperscan.error`` if the expressions do not compile.
    """
    path = cache_dir() / "hyperscan" / f"{_key(expressions, flags)}.hsdb"
    try:
        db = hyperscan.loadb(path.read_bytes(), hyperscan.HS_MODE_BLOCK)
        db.scratch = hyperscan.Scratch(db)  # a loaded database comes without scratch space
        return db
    except (OSError, hyperscan.error):
        pass  # not cached yet, or unreadable: compile
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=expressions, ids=list(range(len(expressions))), flags=flags)
    _save(path, hyperscan.dumpb(db))
    return db


def _key(expressions: list[bytes], flags: list[int]) -> str:
    h = hashlib.sha256()
    h.update(hyperscan.__version__.encode() if hasattr(hyperscan, "__version__") else b"?")
    h.update(os.uname().machine.encode())
    for expression, flag in zip(expressions, flags, strict=True):
        h.update(len(expression).to_bytes(4, "little") + expression + flag.to_bytes(4, "little"))
    return h.hexdigest()[:32]


def _save(path: Path, data: bytes) -> None:
    """Write ``data`` atomically (two processes may compile the same database at once)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".hsdb")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as e:
        log.debug("compiled pattern cache not written (%s): %s", path, e)

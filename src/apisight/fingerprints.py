"""Keyed fingerprints: follow a secret or sensitive value across events without keeping it.

A fingerprint is the first 16 hex digits of HMAC-SHA256 under a per-installation key.
The key comes from ``APISIGHT_FINGERPRINT_KEY``, the configured key file, or is
generated on first use into ``<data dir>/fingerprint.key`` with 0600 permissions.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from apisight.errors import ConfigError

KEY_ENV = "APISIGHT_FINGERPRINT_KEY"
KEY_FILE = "fingerprint.key"


class Fingerprinter:
    """HMAC-SHA256 fingerprints under one key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ConfigError("fingerprint key must be at least 16 bytes")
        self._key = key

    def __call__(self, value: str) -> str:
        return hmac.new(self._key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:16]

    def seed(self, purpose: str) -> int:
        """A 64-bit seed for a fast keyed hash, derived from the key for one ``purpose``."""
        return int(self(f"seed:{purpose}"), 16)


def load_key(data_dir: Path, key_file: str | None = None) -> bytes:
    """The installation's fingerprint key, creating it (0600) on first use."""
    from_env = os.environ.get(KEY_ENV)
    if from_env:
        return from_env.encode()
    path = Path(key_file) if key_file else data_dir / KEY_FILE
    if path.is_file():
        key = path.read_bytes().strip()
        if len(key) < 16:
            raise ConfigError(f"fingerprint key file {path} is shorter than 16 bytes; delete it to regenerate")
        return key
    if key_file:
        raise ConfigError(f"fingerprint.key_file {path} does not exist")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    staged = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    try:
        os.link(staged, path)  # atomic and never overwrites: a concurrent first run wins once
    except FileExistsError:
        key = path.read_bytes().strip()
    finally:
        staged.unlink()
    return key

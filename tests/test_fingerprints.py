import stat

import pytest

from apisight.errors import ConfigError
from apisight.fingerprints import KEY_ENV, Fingerprinter, load_key


def test_key_is_created_once_private_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    first = load_key(tmp_path)
    assert stat.S_IMODE((tmp_path / "fingerprint.key").stat().st_mode) == 0o600
    assert load_key(tmp_path) == first
    assert [p.name for p in tmp_path.iterdir()] == ["fingerprint.key"]  # no staging file left


def test_environment_key_wins_and_changes_fingerprints(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    local = Fingerprinter(load_key(tmp_path))("tok")
    monkeypatch.setenv(KEY_ENV, "an-operator-provided-key-0123456789")
    assert Fingerprinter(load_key(tmp_path))("tok") != local


def test_configured_key_file_must_exist(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(ConfigError, match="does not exist"):
        load_key(tmp_path, str(tmp_path / "missing.key"))

"""The compiled-pattern cache: loaded databases match exactly as compiled ones; a bad or
unwritable cache only costs a compile."""

from __future__ import annotations

import hyperscan
import pytest

from apisight.sensitive import hsdb
from apisight.sensitive.candidates import CandidateFinder
from apisight.sensitive.catalog import load_catalog

TEXT = (
    b'{"card":"4111 1111 1111 1111","iban":"GB82WEST12345698765432","email":"ann@example.com",'
    b'"ssn":"536-22-8726","phone":"+44 20 7946 0958"}'
)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("APISIGHT_CACHE_DIR", str(tmp_path))
    return tmp_path / "hyperscan"


def test_second_finder_loads_the_saved_database_and_finds_the_same(cache):
    compiled = CandidateFinder(load_catalog())
    saved = list(cache.glob("*.hsdb"))
    assert len(saved) == 1
    stamp = saved[0].stat().st_mtime_ns
    loaded = CandidateFinder(load_catalog())
    assert saved[0].stat().st_mtime_ns == stamp  # read, not compiled and written again
    assert compiled.matches(TEXT).tolist() == loaded.matches(TEXT).tolist()
    assert len(loaded.matches(TEXT)) >= 5


def test_a_different_pattern_set_gets_its_own_database(cache):
    hsdb.block_database([rb"\d{4}"], [0])
    hsdb.block_database([rb"\d{5}"], [0])
    assert len(list(cache.glob("*.hsdb"))) == 2


def test_a_corrupt_cache_file_is_compiled_over(cache):
    hsdb.block_database([rb"abc"], [0])
    (saved,) = cache.glob("*.hsdb")
    saved.write_bytes(b"not a database")
    db = hsdb.block_database([rb"abc"], [0])
    hits: list[int] = []
    db.scan(b"xxabc", match_event_handler=lambda i, s, e, f, c: hits.append(e))
    assert hits == [5]
    assert hyperscan.loadb(saved.read_bytes(), hyperscan.HS_MODE_BLOCK) is not None


def test_an_unwritable_cache_still_compiles(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("APISIGHT_CACHE_DIR", str(blocker))
    db = hsdb.block_database([rb"abc"], [0])
    hits: list[int] = []
    db.scan(b"abc", match_event_handler=lambda i, s, e, f, c: hits.append(i))
    assert hits == [0]

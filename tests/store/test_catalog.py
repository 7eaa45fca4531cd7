"""The catalog connection: opening it while another process holds it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from apisight.errors import StoreError
from apisight.store import Catalog
from apisight.store.layout import catalog_path

HOLD = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); print('held', flush=True); time.sleep(2)"


def held(tmp_path) -> subprocess.Popen:
    """Another process (a query) holding the catalog for two seconds."""
    Catalog(tmp_path).close()
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(catalog_path(tmp_path))], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_catalog_another_process_holds_is_an_error_at_once_or_waited_for(tmp_path):
    proc = held(tmp_path)
    try:
        with pytest.raises(StoreError, match="lock"):
            Catalog(tmp_path)
        with Catalog(tmp_path, wait_seconds=30) as catalog:  # opens once the other lets go
            assert proc.poll() is not None
            assert catalog.db.execute("SELECT count(*) FROM runs").fetchall() == [(0,)]
    finally:
        proc.wait(timeout=30)


def test_no_progress_bar_is_drawn_into_the_output_of_long_queries(tmp_path):
    """DuckDB draws one on stdout for queries over ~2 s, which broke ``--json`` output."""
    for read_only in (False, True):
        with Catalog(tmp_path, read_only=read_only) as c:
            assert c.query("SELECT current_setting('enable_progress_bar')").rows == [(False,)]

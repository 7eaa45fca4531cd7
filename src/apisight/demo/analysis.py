"""How the demo's data set is analysed: the one request `apisight demo`, the benchmarks
and the quality tests all make, so they all measure what a user sees."""

from __future__ import annotations

import shutil
from pathlib import Path

from apisight.config import CONFIG_NAME, load_settings
from apisight.demo.generate import DemoManifest
from apisight.pipeline import RunRequest
from apisight.readers.base import ReaderOptions


def demo_request(manifest: DemoManifest, data_dir: Path) -> RunRequest:
    """Each demo file with its format (and nginx ``log_format``), the demo's specs, and the
    demo's settings — copied to ``data_dir/apisight.yaml`` so later commands use them too."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if manifest.config is not None:
        shutil.copy(manifest.config, data_dir / CONFIG_NAME)
    per_file = {str(f.path): (f.format, ReaderOptions(log_format=f.log_format)) for f in manifest.files}
    return RunRequest([str(f.path) for f in manifest.files], data_dir, load_settings(None, data_dir),
                      per_file_options=per_file, specs=list(manifest.specs))

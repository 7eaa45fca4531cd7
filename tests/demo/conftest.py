"""A small demo data set shared by the demo tests (generated once per session)."""

from __future__ import annotations

import orjson
import pytest

from apisight.demo import DemoManifest, generate_demo

SCALE = 0.25


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoManifest:
    return generate_demo(tmp_path_factory.mktemp("demo"), seed=7, scale=SCALE)


@pytest.fixture(scope="session")
def harl_entries(demo: DemoManifest) -> list[dict]:
    path = demo.out_dir / "traffic/retail-api.harl"
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]

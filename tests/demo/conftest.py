"""A small demo data set shared by the demo tests (generated once per session)."""

from __future__ import annotations

import orjson
import pytest

from apisight.demo import DemoManifest, generate_demo
from apisight.demo.population import Population, build_population

SEED = 7
SCALE = 0.25


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoManifest:
    return generate_demo(tmp_path_factory.mktemp("demo"), seed=SEED, scale=SCALE)


@pytest.fixture(scope="session")
def demo_population() -> Population:
    """The population behind :func:`demo` (same seed and scale)."""
    return build_population(SEED, SCALE)


@pytest.fixture(scope="session")
def harl_entries(demo: DemoManifest) -> list[dict]:
    path = demo.out_dir / "traffic/retail-api.harl"
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]

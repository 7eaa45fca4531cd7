"""DemoBank: a seeded, deterministic API-traffic generator with labelled attacks.

``generate_demo`` writes a complete demo data set (traffic in several formats,
OpenAPI specs and ground-truth labels); ``generate_bench`` writes large files of
one format for benchmarks.
"""

from apisight.demo.generate import DemoFile, DemoManifest, demo_frames, generate_bench, generate_demo

__all__ = ["DemoFile", "DemoManifest", "demo_frames", "generate_bench", "generate_demo"]

"""Coverage-guided fuzzing of every line reader (atheris, libFuzzer), beyond the suite's hypothesis runs.

    python bench/fuzz_readers.py                       # every reader, 60 s each
    python bench/fuzz_readers.py --seconds 600 --format kong alb

Each target takes the fuzzer's bytes as a batch of lines beside a real line of the format
and runs what a run does with a batch: parse (``readers.guard.checked``), normalise (the
batch job's guarded normalisation) and check. It fails if anything raises or the real
line is lost. Inputs that fail are kept under ``bench/out/fuzz/<format>/`` (libFuzzer's
``crash-*`` files): each becomes a regression case in ``tests/readers/test_fuzz.py``.
Needs ``pip install atheris`` (a wheel; nothing is downloaded at run time).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "out" / "fuzz"
FORMATS = ["nginx", "alb", "envoy", "kong", "harl", "jsonl"]


def samples(fmt: str) -> list[str]:
    """Real lines of ``fmt`` from the demo's writers (a seed corpus and the line that must survive)."""
    import polars as pl

    from apisight.demo import demo_frames
    from tests.readers.test_fuzz import WRITERS, jsonl_lines

    frame = pl.concat(list(demo_frames(seed=3, scale=0.003).values())).sort("ts").head(20)
    if fmt == "jsonl":
        return jsonl_lines(frame)
    path = Path(tempfile.mkdtemp()) / fmt
    WRITERS[fmt](frame, path)
    return [x for x in path.read_text(encoding="utf-8").splitlines() if x]


def target(fmt: str, corpus: Path) -> None:
    """Run libFuzzer on one format in this process (never returns)."""
    import atheris
    import polars as pl

    # coverage from the readers' own code (atheris's rewriting of some other modules, the
    # demo generator's among them, changes what they compute under Python 3.11)
    with atheris.instrument_imports(include=["apisight.readers"]):
        from apisight.readers import registry
        from apisight.readers.base import ReaderOptions
        from apisight.readers.guard import checked
    from apisight.batches import BatchJob, _normalize_guarded
    from apisight.config import Settings
    from apisight.fingerprints import Fingerprinter
    from apisight.normalize import Normalizer

    good = [(corpus / "seed-0").read_text(encoding="utf-8")]  # written by the parent
    reader = registry.create(fmt, ReaderOptions())
    settings = Settings()
    normalizer = Normalizer(settings, Fingerprinter(b"k" * 32))
    job = BatchJob(lambda: None, fmt, "fuzz", "fuzz-1", str(corpus), settings.model_dump_json(), b"k" * 32)

    def one(data: bytes) -> None:
        text = data.decode("utf-8", "replace").replace("\r", "")
        lines = [good[0], *text.split("\n")[:50]]
        frame = pl.DataFrame({"line_no": list(range(1, len(lines) + 1)), "line": lines},
                             schema={"line_no": pl.Int64, "line": pl.String})
        parsed = checked(reader.parse, frame)
        if 1 not in parsed.records["line_no"].to_list():
            raise AssertionError("the real line was lost beside the fuzzed ones")
        _, _, failed = _normalize_guarded(normalizer, parsed.records, job, "fuzz-1")
        if 1 in failed["line_no"].to_list():
            raise AssertionError("the real line failed normalisation")

    atheris.Setup([sys.argv[0], str(corpus), f"-artifact_prefix={corpus.parent}/crash-",
                   *sys.argv[sys.argv.index("--libfuzzer") + 1:]], one)
    atheris.Fuzz()


def main() -> None:
    if "--target" in sys.argv:
        sys.path.insert(0, str(ROOT))
        fmt = sys.argv[sys.argv.index("--target") + 1]
        target(fmt, OUT / fmt / "corpus")
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60, help="fuzzing time per format")
    parser.add_argument("--format", nargs="*", default=FORMATS, choices=FORMATS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    sys.path.insert(0, str(ROOT))
    for fmt in args.format:
        corpus = OUT / fmt / "corpus"
        corpus.mkdir(parents=True, exist_ok=True)
        for i, line in enumerate(samples(fmt)):
            (corpus / f"seed-{i}").write_text(line, encoding="utf-8")
        started = time.perf_counter()
        run = subprocess.run([sys.executable, __file__, "--target", fmt, "--libfuzzer",
                              f"-max_total_time={args.seconds}", "-rss_limit_mb=4096", "-timeout=20"],
                             capture_output=True, text=True, check=False)
        stats = [x for x in run.stderr.splitlines() if x.startswith("Done") or "DONE" in x or "#" in x[:2]]
        crashes = sorted(str(p) for p in (OUT / fmt).glob("crash-*"))
        rows.append({"format": fmt, "exit": run.returncode, "seconds": round(time.perf_counter() - started, 1),
                     "last": stats[-1] if stats else run.stderr[-300:], "crashes": crashes})
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "summary.json").write_text(json.dumps(rows, indent=2))
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['format']:6} exit {r['exit']}  {r['seconds']:>6} s  crashes {len(r['crashes'])}  {r['last']}")
    sys.exit(1 if any(r["crashes"] or r["exit"] not in (0,) for r in rows) else 0)


if __name__ == "__main__":
    main()

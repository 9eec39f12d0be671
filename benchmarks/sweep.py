"""Sweep benchmark: does the local executor finish a grid of small runs sooner as one single-threaded run per core
(``--jobs`` = cores) than as one run at a time on every core (``--jobs 1``)? The answer sets its default ``jobs``.

    python benchmarks/sweep.py --data-dir ../shared/data          # writes docs/benchmarks/sweep.{md,json}

The grid: 4 small minilm LoRA runs (128 SNLI bulk items plus 64 tracked ChaosNLI-SNLI items, 64 validation
items, 1 epoch, max length 64, a probe every 2 steps), ranks 4 and 16 x seeds 42
and 123, each trained in its own worker process exactly as ``loradyn sweep`` trains it (process start and imports
included), the same grid both ways in one invocation.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from loradyn.experiments.execution import run_sweep
from loradyn.experiments.executors import cpu_cores, local_slots
from loradyn.experiments.sweep import Sweep, expand
from loradyn.io import write_atomic, write_json

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
SMOKE = dict(
    model="minilm",
    method="lora",
    dataset="chaosnli-snli",
    bulk="snli",
    n_bulk=128,
    n_tracked=64,
    n_validation=64,
    epochs=1,
    max_length=64,
    probe_every=2,
)


def time_sweep(sweep: Sweep, jobs: int) -> dict:
    """Wall time of the whole sweep with ``jobs`` at a time, and each run's own time."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        summary = run_sweep(sweep, Path(tmp) / f"jobs-{jobs}", jobs=jobs, progress=False)
        wall = time.perf_counter() - started
    if summary["complete"] != len(sweep.runs):
        failed = [f"{r['name']}: {r['error']}" for r in summary["runs"] if r["status"] == "failed"]
        raise SystemExit(f"runs failed with jobs={jobs}: {failed}")
    return {"jobs": jobs, "wall_seconds": wall, "run_seconds": {r["name"]: r["seconds"] for r in summary["runs"]}}


def render(result: dict) -> str:
    """The page docs/benchmarks/sweep.md, from the numbers in sweep.json."""
    sequential, parallel, ratio = result["sequential"], result["parallel"], result["speedup"]
    a, b = (sum(way["run_seconds"].values()) / len(way["run_seconds"]) for way in (sequential, parallel))
    rows = [
        (f"--jobs 1 ({sequential['threads_per_run']} threads per run)", sequential["wall_seconds"], a),
        (
            f"--jobs {parallel['jobs']} ({parallel['threads_per_run']} thread per run, each pinned to its core)",
            parallel["wall_seconds"],
            b,
        ),
    ]
    table = "\n".join(f"| {way} | {wall:.1f} s | {run:.1f} s |" for way, wall, run in rows)
    if ratio > 1:
        verdict = (
            f"One single-threaded run per core finished the grid {ratio:.2f}x sooner, so the local executor's "
            "default is one run per core on a CPU (one per GPU on a GPU machine)."
        )
    else:
        verdict = f"One run at a time on every core was faster ({1 / ratio:.2f}x): the default should be --jobs 1."
    if a < b:
        why = (
            f"A run took {a:.1f} s on {sequential['threads_per_run']} threads alone and {b:.1f} s on one thread "
            f"beside the others: the extra threads saved {1 - a / b:.0%} of a run's time, while the extra runs used "
            "the other cores whole."
        )
    else:
        why = (
            f"A run was slower on {sequential['threads_per_run']} threads alone ({a:.1f} s) than on one thread "
            f"beside the others ({b:.1f} s): on a shared machine a multi-threaded step waits for whichever of its "
            "threads lost its core, so a quiet machine probably gives a smaller ratio than this one; the direction "
            "is what sets the default."
        )
    load, cores = result["load_average_1min"], result["machine"]["cpu_cores"]
    quiet = load["before"] < 0.5
    machine = (
        f"The machine was otherwise idle when this started (1-minute load average {load['before']:.1f}; "
        f"{load['after']:.1f} after, this benchmark's own runs included, on {cores} cores)."
        if quiet
        else f"The machine was shared with other work while this ran (1-minute load average {load['before']:.1f} "
        f"before and {load['after']:.1f} after, on {cores} cores)."
    )
    return f"""# Sweep benchmark

Made by `{result["command"]}` on {result["date"]}
({result["machine"]["cpu_cores"]} CPU cores, {result["machine"]["processor"]}, torch {result["torch"]}); raw numbers
in `sweep.json`. The grid: {len(result["runs"])} small minilm LoRA runs (128 SNLI bulk + 64 tracked ChaosNLI-SNLI
items, 64 validation items, 1 epoch, max length 64, a probe every 2 steps), ranks 4 and 16 x seeds 42 and 123,
through the local executor of `loradyn sweep` (each run in its own worker process, its start and imports
included), first one run at a time, then one per core.

| way | wall time of the grid | mean time of one run |
|---|---|---|
{table}
| speed-up of the whole grid | **{ratio:.2f}x** | |

{verdict} {why} Memory bounds that default: each run holds its own model, so pass `--jobs` for larger models.
{machine}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("LORADYN_DATA_DIR", "../shared/data"))
    args = parser.parse_args()
    cores = cpu_cores()
    sweep = expand(
        {
            "base": {**SMOKE, "data_dir": str(Path(args.data_dir).resolve())},
            "seeds": [42, 123],
            "grid": [{"rank": [4, 16]}],
        },
        name="sweep-benchmark",
    )
    # Warm the file cache (Python packages, the model, the data) so that the first way timed does not pay for it.
    subprocess.run([sys.executable, "-c", "import loradyn.train.runner"], check=True)
    load_before = os.getloadavg()
    sequential = time_sweep(sweep, 1)
    parallel = time_sweep(sweep, len(cores))
    load_after = os.getloadavg()
    result = {
        "command": "python benchmarks/sweep.py --data-dir ../shared/data",
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cpu_cores": len(cores), "processor": platform.processor() or platform.machine()},
        "torch": torch.__version__,
        "runs": [run.name for run in sweep.runs],
        "sequential": {**sequential, "threads_per_run": local_slots(1, cores, [])[0].threads},
        "parallel": {**parallel, "threads_per_run": local_slots(len(cores), cores, [])[0].threads},
        "speedup": sequential["wall_seconds"] / parallel["wall_seconds"],
        "load_average_1min": {"before": load_before[0], "after": load_after[0]},
    }
    DOCS.mkdir(parents=True, exist_ok=True)
    write_json(DOCS / "sweep.json", result)
    text = render(result)
    write_atomic(DOCS / "sweep.md", lambda tmp: tmp.write_text(text))
    print(text)


if __name__ == "__main__":
    main()

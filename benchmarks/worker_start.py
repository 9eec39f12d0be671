"""Run-process start benchmark: what a local sweep pays before each run can train. A process started afresh (as the
local executor did in 0.2.0: ``python -m loradyn.experiments.worker``) imports torch, transformers, PEFT and
loradyn's training code; a process forked from the executor's fork server (`loradyn.experiments.executors.fork_server`)
finds them imported. CPU time (user + system) is the measure that another load on the machine does not inflate;
wall time is given beside it, with the load average.

    python benchmarks/worker_start.py          # writes docs/benchmarks/worker-start.{md,json}
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from loradyn.experiments.executors import fork_server
from loradyn.io import write_atomic, write_json

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks"
IMPORTS = "import loradyn.experiments.worker, loradyn.train.runner"


def fresh() -> tuple[float, float]:
    """Wall and CPU seconds of a new interpreter that imports the training code, as a run's process did."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", IMPORTS], check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _report_cpu(queue) -> None:
    import loradyn.train.runner  # noqa: F401  (already imported by the server: costs nothing here)

    usage = resource.getrusage(resource.RUSAGE_SELF)  # a forked child's usage starts at zero
    queue.put(usage.ru_utime + usage.ru_stime)


def forked(forks) -> tuple[float, float]:
    """Wall and CPU seconds of a process forked from the fork server, up to where it could start training."""
    queue = forks.SimpleQueue()
    started = time.perf_counter()
    process = forks.Process(target=_report_cpu, args=(queue,))
    process.start()
    cpu = queue.get()
    process.join()
    return time.perf_counter() - started, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    forks = fork_server()
    server_started = time.perf_counter()
    forked(forks)  # the first one starts the server, which imports the training code once per sweep
    server = time.perf_counter() - server_started
    timings = {"fresh": [fresh() for _ in range(args.repeats)], "forked": [forked(forks) for _ in range(args.repeats)]}
    median = {way: [statistics.median(column) for column in zip(*rows, strict=True)] for way, rows in timings.items()}
    result = {
        "command": "python benchmarks/worker_start.py" + (f" --repeats {args.repeats}" if args.repeats != 3 else ""),
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cores": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "load_average_1min": load,
        "torch": torch.__version__,
        "timings": {way: [{"wall_s": w, "cpu_s": c} for w, c in rows] for way, rows in timings.items()},
        "median": {way: {"wall_s": w, "cpu_s": c} for way, (w, c) in median.items()},
        "server_start_wall_s": server,
    }
    write_json(DOCS / "worker-start.json", result)
    (fresh_wall, fresh_cpu), (fork_wall, fork_cpu) = median["fresh"], median["forked"]
    text = f"""# Run-process start benchmark

Made by `{result["command"]}` on {result["date"]} ({result["machine"]["cores"]} cores,
{result["machine"]["processor"]}, torch {result["torch"]}, load average {load:.2f} at the start); raw numbers in
`worker-start.json`. What the local executor pays per run before training can begin, median of {args.repeats}:

| a run's process | CPU time | wall time |
|---|---|---|
| started afresh, importing torch, transformers, PEFT and loradyn's training | {fresh_cpu:.2f} s | {fresh_wall:.2f} s |
| forked from the executor's fork server (the imports done) | {fork_cpu:.3f} s | {fork_wall:.3f} s |

The fork server itself imports the training code once per sweep: {server:.1f} s wall for its first run. CPU time
is what another load on the machine does not inflate; wall time grows with the load.
"""
    write_atomic(DOCS / "worker-start.md", lambda path: path.write_text(text))


if __name__ == "__main__":
    main()

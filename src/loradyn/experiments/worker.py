"""One run of a sweep, in the process that trains it: train (or resume), and on failure write the error log.

Every executor ends here: the local one runs `main` in a process of its own per run (through `start` in a process
forked from its fork server, or as ``python -m loradyn.experiments.worker CONFIG RUN_DIR ERROR_LOG`` for a GPU);
Ray and submitit call `execute` in their own worker processes. An error log starts with one line (the exception's
type and the first line of its message), then the full traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from loradyn.io import process_alive


def execute(
    config: dict[str, Any], run_dir: str, error_log: str, *, threads: int | None = None, log: str | None = None
) -> dict[str, Any]:
    """Train ``config`` into ``run_dir`` (resuming an unfinished run); return the outcome: ``status``
    (``complete`` or ``failed``), ``seconds``, and for a failure ``error`` (one line) and ``error_log``.
    Any exception of the run is caught and written to ``error_log``, so that one run cannot stop a sweep. ``log``
    receives the run's output (the local executor's worker writes to its log file already)."""
    started = time.perf_counter()
    if _is_complete(Path(run_dir)):  # finished meanwhile (by an earlier sweep's worker): nothing to do, no failure
        return {"status": "complete", "seconds": 0.0, "error": None, "error_log": None}
    try:
        import torch
        from threadpoolctl import threadpool_limits

        from loradyn.train.config import RunConfig
        from loradyn.train.runner import train

        if threads is not None:
            torch.set_num_threads(threads)
            threadpool_limits(threads)  # NumPy's BLAS: loaded, and its threads fixed, before this process began
        with _output_to(log):
            train(RunConfig(**config), run_dir)  # not a terminal: a line per checkpoint
    except Exception as err:  # reported with its traceback; the sweep goes on
        headline = f"{type(err).__name__}: {next(iter(str(err).strip().splitlines()), '')}"
        return record_failure(error_log, headline, traceback.format_exc(), time.perf_counter() - started)
    return {"status": "complete", "seconds": time.perf_counter() - started, "error": None, "error_log": None}


def _is_complete(run_dir: Path) -> bool:
    try:
        return json.loads((run_dir / "run.json").read_text(encoding="utf-8")).get("status") == "complete"
    except (OSError, ValueError, AttributeError):
        return False


def _die_with(parent: int) -> None:
    """End this worker when the sweep that started it (``parent``) is gone, killed outright included: a thread
    watches the sweep and this process's parent (the sweep, its fork server, or a launcher between them), so that
    no run goes on training unwatched beside the next sweep. The run resumes from its last checkpoint when the
    sweep is started again."""
    watched = os.getppid()
    if not process_alive(parent):  # gone already, before the watch began
        raise SystemExit(143)

    def watch() -> None:
        while os.getppid() == watched and process_alive(parent):
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


@contextlib.contextmanager
def _output_to(log: str | None) -> Iterator[None]:
    """Send stdout and stderr to the file ``log`` (nothing changes without one)."""
    if log is None:
        yield
        return
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as out, contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        yield


def record_failure(error_log: str | os.PathLike[str], headline: str, details: str, seconds: float) -> dict[str, Any]:
    """Write ``headline`` and ``details`` to the error log and return the failed outcome."""
    Path(error_log).parent.mkdir(parents=True, exist_ok=True)
    Path(error_log).write_text(f"{headline}\n\n{details.rstrip()}\n", encoding="utf-8")
    return {"status": "failed", "seconds": seconds, "error": headline, "error_log": str(error_log)}


def start(argv: list[str], log: str, env: dict[str, str], cwd: str) -> None:
    """`main` in a CPU run's process of the local executor, forked from its fork server (which started with
    another environment, working folder and output): take the sweep's environment and working folder, read nothing
    from the terminal, send both output streams, down to the file descriptors, to ``log``, and exit with `main`'s
    status. What the imported libraries read from the environment when the server imported them stays as the
    server read it, except the thread counts, which `execute` sets."""
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.stdout.flush()
    sys.stderr.flush()
    for descriptor, path, flags in ((0, os.devnull, os.O_RDONLY), (1, log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)):
        opened = os.open(path, flags, 0o666)
        os.dup2(opened, descriptor)
        os.close(opened)
    os.dup2(1, 2)
    raise SystemExit(main(argv))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train one run of a sweep (started by the local executor).")
    parser.add_argument("config", help="the run's YAML configuration")
    parser.add_argument("run_dir")
    parser.add_argument("error_log")
    parser.add_argument("--threads", type=int, help="torch threads")
    parser.add_argument("--cores", help="comma-separated CPU cores to run on")
    parser.add_argument("--parent", type=int, help="the sweep's process id: the worker ends when it does")
    args = parser.parse_args(argv)
    if args.parent is not None:
        _die_with(args.parent)
    if args.cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, [int(core) for core in args.cores.split(",")])
    import yaml

    config = yaml.safe_load(Path(args.config).read_text(encoding="utf-8"))
    outcome = execute(config, args.run_dir, args.error_log, threads=args.threads)
    import torch

    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "all"
    print(f"{outcome['status']} in {outcome['seconds']:.1f} s; torch threads {torch.get_num_threads()}, cores {cores}")
    return 0 if outcome["status"] == "complete" else 1


if __name__ == "__main__":
    raise SystemExit(main())

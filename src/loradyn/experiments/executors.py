"""Where a sweep's runs train: worker processes on this machine, Ray tasks, or Slurm jobs through submitit.

Each executor takes the runs still to do and reports each one's outcome (see `loradyn.experiments.worker`) as it
finishes. A run that fails, or whose process dies, is reported as failed; the others go on.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from queue import SimpleQueue
from typing import Any

import yaml

from loradyn.errors import DataError
from loradyn.experiments import worker
from loradyn.io import write_atomic

EXECUTORS = ("local", "ray", "slurm")
#: The optional dependency each non-local executor needs, and the extra that installs it.
EXTRAS = {"ray": ("ray", "ray"), "slurm": ("submitit", "slurm")}
#: Slurm jobs' time limit unless the sweep's ``slurm:`` sets ``timeout_min`` (submitit's own default is minutes).
DEFAULT_TIMEOUT_MIN = 24 * 60
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS")


@dataclass(frozen=True)
class Task:
    """A run to train: its name, its configuration (`RunConfig.to_dict`), its run directory and error log."""

    name: str
    config: dict[str, Any]
    run_dir: Path
    error_log: Path


OnDone = Callable[[Task, dict[str, Any]], None]


def require(executor: str) -> Any:
    """The module an executor needs, or an error naming the pip command that installs it."""
    module, extra = EXTRAS[executor]
    try:
        return importlib.import_module(module)
    except ImportError:
        raise DataError(
            f"--executor {executor} needs {module}, which is not installed",
            field="executor",
            fix=f"pip install 'loradyn[{extra}]'",
        ) from None


def dispatch(
    tasks: list[Task],
    *,
    executor: str,
    jobs: int | None,
    on_done: OnDone,
    folder: Path,
    slurm: dict[str, Any] | None = None,
) -> None:
    """Train ``tasks`` on ``executor`` (``local``, ``ray`` or ``slurm``), ``jobs`` at a time, calling ``on_done``
    with each one's outcome as it finishes; ``folder`` keeps the local workers' configs and logs and submitit's
    files, ``slurm`` submitit's parameters."""
    if executor == "local":
        run_local(tasks, jobs=jobs, on_done=on_done, folder=folder)
    elif executor == "ray":
        run_ray(tasks, jobs=jobs, on_done=on_done, folder=folder)
    else:
        run_slurm(tasks, jobs=jobs, on_done=on_done, folder=folder, parameters=slurm or {})


def log_path(folder: Path, task: Task) -> Path:
    """Where a run's output goes, whichever executor trains it: ``folder/.logs/<run>.log``."""
    return folder / ".logs" / f"{task.name}.log"


def check_executor(
    executor: str, jobs: int | None, *, installed: bool = True, slurm: dict[str, Any] | None = None
) -> None:
    """A clear error for an unknown executor, a job count below one, or (``installed``) an executor whose extra is
    missing, or Slurm where there is no scheduler (``sbatch``) unless ``slurm`` asks for submitit's local executor
    by name (``cluster: local``): submitit would otherwise run every job here at once, with no limit."""
    if executor not in EXECUTORS:
        raise DataError(
            f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}",
            field="--executor",
            fix="leave it out (local), or name one of them",
        )
    if jobs is not None and jobs < 1:
        raise DataError(f"jobs must be a positive integer, got {jobs}", field="--jobs", fix="pass --jobs 1 or more")
    if installed and executor != "local":
        require(executor)
    if installed and executor == "slurm" and (slurm or {}).get("cluster") is None and shutil.which("sbatch") is None:
        raise DataError(
            "--executor slurm needs a Slurm scheduler, and sbatch is not on PATH here",
            field="--executor",
            fix="run on a Slurm login node, use --executor local, or pass --slurm cluster=local for submitit's local "
            "executor",
        )


# ------------------------------------------------------------------------------------------------------- local
@dataclass(frozen=True)
class Slot:
    """One of the local executor's concurrent places: torch threads, the cores it is pinned to (None: not
    pinned), and the GPU it sees (None: CUDA_VISIBLE_DEVICES left as it is)."""

    threads: int
    cores: tuple[int, ...] | None
    device: str | None


def cpu_cores() -> list[int]:
    """The CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def visible_gpus() -> list[str]:
    """The GPUs this process sees, as CUDA_VISIBLE_DEVICES entries."""
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        return [d.strip() for d in os.environ["CUDA_VISIBLE_DEVICES"].split(",") if d.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def default_jobs(cores: list[int], gpus: list[str]) -> int:
    """The local executor's default: one run per GPU; on CPUs one single-threaded run per core, which finished a
    grid of four small minilm runs 1.4-1.5x sooner than one run at a time on both cores (2 cores, nearly idle;
    3.55x while other work loaded the machine, which penalises the multi-threaded run; docs/benchmarks/sweep.md).
    Each run holds its own model in memory: pass ``jobs`` for large models."""
    return len(gpus) or len(cores)


def local_slots(jobs: int, cores: list[int], gpus: list[str]) -> list[Slot]:
    """``jobs`` slots sharing ``cores`` (each pinned to its own ``len(cores) // jobs`` of them when there are at
    least as many cores as jobs) and ``gpus`` (round-robin)."""
    threads = max(1, len(cores) // jobs)
    return [
        Slot(
            threads=threads,
            cores=tuple(cores[i * threads : (i + 1) * threads]) if jobs <= len(cores) else None,
            device=gpus[i % len(gpus)] if gpus else None,
        )
        for i in range(jobs)
    ]


def run_local(tasks: list[Task], *, jobs: int | None, on_done: OnDone, folder: Path) -> None:
    """Train each task in its own process (on CPUs forked from a server that imported the training code once, see
    `_start_worker`), ``jobs`` at a time; each process's configuration goes to
    ``folder/.configs/<run>.yaml`` and its output to ``folder/.logs/<run>.log``."""
    cores, gpus = cpu_cores(), visible_gpus()
    free: SimpleQueue[Slot] = SimpleQueue()
    for slot in local_slots(jobs or default_jobs(cores, gpus), cores, gpus):
        free.put(slot)
    running: set[Worker] = set()
    stopping = threading.Event()

    def train(task: Task) -> dict[str, Any] | None:
        slot = free.get()
        try:
            return None if stopping.is_set() else _train_in_process(task, slot, folder, running, stopping)
        finally:
            free.put(slot)

    pool = ThreadPoolExecutor(max_workers=free.qsize())
    futures = {pool.submit(train, task): task for task in tasks}
    restore = _exit_on_sigterm()
    try:
        for future in as_completed(futures):
            on_done(futures[future], future.result())
    except BaseException:  # Ctrl-C or a kill included: start nothing more, stop what runs (it resumes next time)
        stopping.set()
        for process in list(running):
            process.terminate()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        restore()


def _exit_on_sigterm() -> Callable[[], None]:
    """Make SIGTERM (``kill``, ``scancel``) raise SystemExit, so that the workers are stopped with the sweep
    rather than left training; returns the function that restores the previous handler."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    return lambda: signal.signal(signal.SIGTERM, previous)


def _train_in_process(
    task: Task, slot: Slot, folder: Path, running: set[Worker], stopping: threading.Event
) -> dict[str, Any]:
    config_path = folder / ".configs" / f"{task.name}.yaml"
    log = log_path(folder, task)
    header = f"# run {task.name}; to train it alone: loradyn train {config_path} --out {task.run_dir}\n"
    text = header + yaml.safe_dump(task.config, sort_keys=False)
    write_atomic(config_path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("", encoding="utf-8")
    argv = [str(config_path), str(task.run_dir), str(task.error_log), "--threads", str(slot.threads)]
    argv += ["--parent", str(os.getpid())]
    if slot.cores:
        argv += ["--cores", ",".join(map(str, slot.cores))]
    env = {**os.environ, **dict.fromkeys(_THREAD_VARIABLES, str(slot.threads))}
    if slot.device is not None:
        env["CUDA_VISIBLE_DEVICES"] = slot.device
    started = time.perf_counter()
    try:
        process = _start_worker(argv, log, env, gpu=slot.device is not None)
    except (OSError, EOFError) as err:  # the fork server died (it could not import the training code)
        details = f"{type(err).__name__}: {err}; the fork server's own error is above the sweep's progress"
        return worker.record_failure(task.error_log, "the run's process could not start", details, 0.0)
    running.add(process)
    if stopping.is_set():  # the sweep was stopped while this process started (the fork server's first import)
        process.terminate()
    try:
        code = process.wait() if isinstance(process, subprocess.Popen) else _joined(process)
    finally:
        running.discard(process)
    seconds = time.perf_counter() - started
    if code == 0:
        return {"status": "complete", "seconds": seconds, "error": None, "error_log": None}
    if task.error_log.is_file():  # the worker caught the error and wrote it
        headline = task.error_log.read_text(encoding="utf-8").splitlines()[0]
        return {"status": "failed", "seconds": seconds, "error": headline, "error_log": str(task.error_log)}
    reason = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"
    tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:])
    return worker.record_failure(task.error_log, f"the run's process {reason}", f"{log} ends with:\n{tail}", seconds)


#: A run's process: forked from the fork server, or a fresh interpreter.
Worker = BaseProcess | subprocess.Popen


def _start_worker(argv: list[str], log: Path, env: dict[str, str], *, gpu: bool) -> Worker:
    """A run's process. On CPUs, forked from a fork server (started with the first run, ended with this process)
    that imported the training code once, so that it starts in 0.02 s of CPU time instead of 12 s importing torch,
    transformers and PEFT again (docs/benchmarks/worker-start.md); `loradyn.experiments.worker.start` gives it the
    sweep's environment, folder and log. A run on a GPU, and every run where there is no fork server (Windows),
    starts a fresh interpreter with its environment from the first instruction: CUDA cannot be used in a process
    forked from one where it was initialised, and the run's CUDA_VISIBLE_DEVICES must precede any import."""
    if gpu or "forkserver" not in multiprocessing.get_all_start_methods():
        command = [sys.executable, "-m", "loradyn.experiments.worker", *argv]
        with log.open("a", encoding="utf-8") as output:
            return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, env=env)
    process = fork_server().Process(target=worker.start, args=(argv, str(log), env, os.getcwd()), name=log.stem)
    process.start()
    return process


def fork_server() -> multiprocessing.context.ForkServerContext:
    """The fork server's context, which imports the training code once, when its first process starts."""
    forks = multiprocessing.get_context("forkserver")
    # loradyn.cli: what the `loradyn` script that started the sweep imports when each run's process runs it again
    forks.set_forkserver_preload(["loradyn.cli", "loradyn.experiments.worker", "loradyn.train.runner"])
    return forks


def _joined(process: BaseProcess) -> int:
    process.join()
    return process.exitcode if process.exitcode is not None else -signal.SIGKILL


# --------------------------------------------------------------------------------------------------------- Ray
def run_ray(tasks: list[Task], *, jobs: int | None, on_done: OnDone, folder: Path) -> None:
    """One Ray task per run, at most ``jobs`` at a time: a GPU each when the cluster has GPUs, else
    ``CPUs // jobs`` cores each (one without ``jobs``). Joins the cluster at ``RAY_ADDRESS`` when it is set (or
    the one this process already joined), else starts Ray on this machine, for this sweep alone: no dashboard, and
    no authentication token written under the home folder (``RAY_AUTH_MODE=disabled`` unless it is set). Each
    run's output goes to ``folder/.logs/<run>.log``. Run directories must be on a file system every node shares."""
    ray = require("ray")
    from loradyn.experiments.worker import execute

    joined = ray.is_initialized()
    if not joined:
        local = {}
        if not os.environ.get("RAY_ADDRESS"):  # a cluster on this machine, for this sweep alone
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            local = {"include_dashboard": False}
        ray.init(log_to_driver=False, **local)
    try:
        resources = ray.cluster_resources()
        if resources.get("GPU", 0) >= 1:
            options, threads = {"num_gpus": 1}, None
        else:
            share = max(1, int(resources.get("CPU", 1)) // jobs) if jobs else 1
            options, threads = {"num_cpus": share}, share
        remote = ray.remote(execute).options(**options)
        waiting, running = list(tasks), {}
        try:
            while waiting or running:
                while waiting and len(running) < (jobs or len(tasks)):
                    task = waiting.pop(0)
                    log = str(log_path(folder, task))
                    ref = remote.remote(task.config, str(task.run_dir), str(task.error_log), threads=threads, log=log)
                    running[ref] = (task, time.perf_counter())
                (ref,), _ = ray.wait(list(running), num_returns=1)
                task, submitted = running.pop(ref)
                try:
                    outcome = ray.get(ref)
                except Exception as err:  # the task's worker died (out of memory, a node lost)
                    headline = f"the Ray task failed ({type(err).__name__})"
                    outcome = worker.record_failure(task.error_log, headline, str(err), time.perf_counter() - submitted)
                on_done(task, outcome)
        except BaseException:
            for ref in running:
                ray.cancel(ref, force=True)
            raise
    finally:
        if not joined:
            ray.shutdown()


# ------------------------------------------------------------------------------------------------------- Slurm
def run_slurm(
    tasks: list[Task], *, jobs: int | None, on_done: OnDone, folder: Path, parameters: dict[str, Any]
) -> None:
    """One Slurm job per run, submitted as one job array through submitit's ``AutoExecutor`` (at most ``jobs``
    running at once), its files in ``folder``. ``parameters`` are the executor's: ``timeout_min`` (default one
    day), ``gpus_per_node``, ``cpus_per_task``, ``mem_gb``, ``slurm_partition``, ``slurm_account``, …; ``cluster:
    local`` runs the jobs as processes on this machine instead (submitit's ``LocalExecutor``); submitit's files go to
    ``folder/.submitit``, each run's output to ``folder/.logs/<run>.log``. Ctrl-C cancels the
    jobs not yet finished; if the command is killed outright they go on: let them end (or ``scancel`` them)
    before continuing the sweep, so that no run is trained by two jobs at once."""
    submitit = require("slurm")
    from loradyn.experiments.worker import execute

    parameters = {"timeout_min": DEFAULT_TIMEOUT_MIN, **parameters}
    executor = submitit.AutoExecutor(folder=folder / ".submitit", cluster=parameters.pop("cluster", None))
    if jobs:
        parameters.setdefault("slurm_array_parallelism", jobs)
    try:
        executor.update_parameters(**parameters)
    except (NameError, AssertionError, ValueError) as err:
        raise DataError(
            f"submitit rejects the slurm parameters: {err}", field="slurm", fix="see submitit's docs"
        ) from None
    threads = parameters.get("cpus_per_task")
    submitted = time.perf_counter()
    with executor.batch():
        submissions = [
            executor.submit(
                execute, t.config, str(t.run_dir), str(t.error_log), threads=threads, log=str(log_path(folder, t))
            )
            for t in tasks
        ]
    pending = dict(zip(submissions, tasks, strict=True))
    try:
        while pending:
            for job in [job for job in pending if job.done()]:
                task = pending.pop(job)
                try:
                    outcome = job.result()
                except Exception as err:  # the job itself failed: out of time or memory, cancelled
                    headline = f"Slurm job {job.job_id} failed ({type(err).__name__})"
                    details = f"{err}\n\nthe job's output: {job.paths.stdout}, {job.paths.stderr}"
                    outcome = worker.record_failure(task.error_log, headline, details, time.perf_counter() - submitted)
                on_done(task, outcome)
            time.sleep(1 if pending else 0)
    except BaseException:
        for job in pending:
            job.cancel(check=False)
        raise

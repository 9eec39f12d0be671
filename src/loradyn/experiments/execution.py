"""Running a sweep into a sweep directory, and continuing one that stopped.

A sweep directory holds ``sweep.json`` (the expanded plan, written before anything runs), one run directory per
run named by the run's name, and for a failed run ``<run>.error.log`` (its error, then the traceback). Starting the
same sweep again skips the complete runs and resumes the unfinished ones (`loradyn.train.runner.train` resumes a
run from its last checkpoint); a directory whose plan differs is refused.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from loradyn.errors import DataError
from loradyn.experiments.executors import Task, check_executor, dispatch
from loradyn.experiments.sweep import Sweep, SweepRun
from loradyn.io import check_writable, dumps, read_json, write_json
from loradyn.train.config import RESUMABLE_CHANGES, stored_config, trained_fields, with_defaults

SWEEP_JSON = "sweep.json"


def run_state(run_dir: Path) -> str:
    """``complete``, ``unfinished`` (started; it resumes) or ``pending`` (not started)."""
    run_json = run_dir / "run.json"
    if not run_json.is_file():
        return "pending"
    try:
        status = json.loads(run_json.read_text(encoding="utf-8")).get("status")
    except json.JSONDecodeError:
        return "unfinished"
    return "complete" if status == "complete" else "unfinished"


def run_sweep(
    sweep: Sweep,
    out_dir: str | os.PathLike[str],
    *,
    jobs: int | None = None,
    executor: str = "local",
    data_dir: str | os.PathLike[str] | None = None,
    slurm: dict[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train every run of ``sweep`` not yet complete in ``out_dir``, ``jobs`` at a time, on ``executor``.

    ``jobs`` defaults to one run per GPU, or one single-threaded run per CPU core, for ``local`` (see
    `loradyn.experiments.executors.default_jobs`); to as many as the cluster holds for ``ray`` and ``slurm``.
    ``data_dir`` replaces every run's data folder; ``slurm`` updates the sweep's submitit parameters. A failed run
    is reported with its error and does not stop the others. ``progress`` draws a bar over the runs on a terminal
    (stderr), else one line per finished run. The local executor's run processes come from `multiprocessing`'s
    fork server, which runs a calling script's top level again in each of them: call this under
    ``if __name__ == "__main__":`` in a script, as with any multiprocessing program (the command line does).

    Returns
    -------
    dict
        ``name``, ``out``, ``executor``, ``runs`` (each run's ``name``, ``condition``, ``seed``, ``status``:
        ``complete``, ``failed`` or ``skipped`` (complete before), ``resumed``, ``seconds``, ``error``,
        ``error_log``) and the counts ``complete``, ``failed`` and ``skipped``.

    Raises
    ------
    DataError
        If ``out_dir`` holds another sweep's plan or other files, or the executor's extra is not installed.
    """
    check_executor(executor, jobs, slurm={**sweep.slurm, **(slurm or {})})
    if data_dir is not None:
        sweep = sweep.with_data_dir(Path(data_dir).resolve())
    out = Path(out_dir).resolve()
    _start_or_continue(sweep, out)
    for run in sweep.runs:  # before the lock file: a refused sweep writes nothing
        if run_state(out / run.name) != "pending":
            _check_run_matches_plan(out / run.name, run.config.to_dict())
    with _exclusive(out):
        return _run(sweep, out, jobs=jobs, executor=executor, slurm=slurm, progress=progress)


def _run(
    sweep: Sweep, out: Path, *, jobs: int | None, executor: str, slurm: dict[str, Any] | None, progress: bool
) -> dict[str, Any]:
    """Train the runs not complete yet (resuming the unfinished ones) and summarise every run."""
    states = {run.name: run_state(out / run.name) for run in sweep.runs}
    tasks = [
        Task(run.name, run.config.to_dict(), out / run.name, out / f"{run.name}.error.log")
        for run in seed_by_seed(sweep)
        if states[run.name] != "complete"
    ]
    for task in tasks:
        task.error_log.unlink(missing_ok=True)
    outcomes: dict[str, dict[str, Any]] = {}
    with _Report(sweep, len(tasks), enabled=progress) as report:

        def on_done(task: Task, outcome: dict[str, Any]) -> None:
            outcomes[task.name] = outcome
            report.finished(task.name, outcome)

        parameters = {"name": f"loradyn-{sweep.name}", **sweep.slurm, **(slurm or {})}
        dispatch(tasks, executor=executor, jobs=jobs, on_done=on_done, folder=out, slurm=parameters)

    runs = []
    for run in sweep.runs:
        outcome = outcomes.get(run.name, {"status": "skipped", "seconds": None, "error": None, "error_log": None})
        runs.append(
            {
                "name": run.name,
                "condition": run.condition,
                "seed": run.seed,
                **outcome,
                "resumed": states[run.name] == "unfinished",
            }
        )
    counts = {status: sum(r["status"] == status for r in runs) for status in ("complete", "failed", "skipped")}
    return {"name": sweep.name, "out": str(out), "executor": executor, "runs": runs, **counts}


def seed_by_seed(sweep: Sweep) -> list[SweepRun]:
    """The order runs train in: every condition of the first seed, then of the next, so that a sweep stopped early
    (a long replication over several sessions) holds whole seeds; the plan keeps its own order."""
    seeds = list(dict.fromkeys(run.seed for run in sweep.runs))
    return sorted(sweep.runs, key=lambda run: seeds.index(run.seed))


def _check_run_matches_plan(run_dir: Path, planned: dict[str, Any]) -> None:
    """Refuse a run folder of the sweep made with another configuration than its plan's (``loradyn train --force``
    of another configuration into it): skipping it would report the wrong run under the plan's name."""
    path = run_dir / "run.json"
    run = read_json(path, fix="remove the run's folder so that the sweep trains it again")
    stored = stored_config(run.get("config") if isinstance(run, dict) else None, path)
    wanted = json.loads(dumps(planned))  # as run.json stores it
    stored, wanted = trained_fields(stored), trained_fields(wanted)
    differ = sorted(k for k in wanted if k not in ("data_dir", *RESUMABLE_CHANGES) and stored.get(k) != wanted[k])
    if differ:
        raise DataError(
            f"run {run_dir.name} was made with another configuration than the sweep's plan (it differs in "
            f"{', '.join(differ)})",
            path=path,
            fix="move the folder out of the sweep (the sweep then trains the planned run), or run it in another sweep",
        )


@contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """Hold ``out/.lock`` while the sweep runs, so that a second command on the same directory stops at once
    instead of training the same runs twice."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    with (out / ".lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataError(
                "another loradyn sweep is running in this directory", path=out, fix="wait for it to end, or stop it"
            ) from None
        yield


def _start_or_continue(sweep: Sweep, out: Path) -> None:
    """Write the plan into a new sweep directory, or check that an existing one holds the same plan."""
    plan = json.loads(dumps(sweep.plan()))  # as JSON reads it back (mapping keys become text)
    path = out / SWEEP_JSON
    check_writable([path])
    if path.is_file():
        previous = read_json(path, fix="choose another --out")
        if not isinstance(previous, dict):
            raise DataError("not a sweep's plan", path=path, fix="choose another --out")
        for entry in (previous, plan):  # fields added since take their defaults; what a method does not read is moot
            for run in entry.get("runs") or []:
                if isinstance(run, dict) and isinstance(run.get("config"), dict):
                    run["config"] = trained_fields(with_defaults(run["config"]))
        if previous != plan:
            raise DataError(
                f"this sweep directory holds another plan: {_difference(previous, plan)}",
                path=path,
                fix="continue it with the sweep file and --data-dir it was started with, or choose another --out",
            )
        return
    if out.exists() and any(out.iterdir()):
        raise DataError("not a sweep directory (no sweep.json), and not empty", path=out, fix="choose another --out")
    write_json(path, plan)


def _difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    def listed(names: list[str]) -> str:
        return ", ".join(names[:3]) + (", …" if len(names) > 3 else "")

    before = {r["name"]: r for r in old.get("runs", [])}
    after = {r["name"]: r for r in new["runs"]}
    parts = []
    if old.get("name") != new["name"]:
        parts.append(f"sweep {old.get('name')!r}, not {new['name']!r}")
    if added := [n for n in after if n not in before]:
        parts.append(f"{len(added)} run(s) it lacks ({listed(added)})")
    if removed := [n for n in before if n not in after]:
        parts.append(f"{len(removed)} run(s) no longer in the sweep ({listed(removed)})")
    changed = []
    for name in (n for n in after if n in before and before[n] != after[n]):
        old_config, new_config = before[name].get("config", {}), after[name]["config"]
        fields = sorted(k for k in new_config.keys() | old_config.keys() if old_config.get(k) != new_config.get(k))
        changed.append(f"{name}: {', '.join(fields) or 'condition or seed'}")
    if changed:
        parts.append(f"{len(changed)} run(s) configured differently ({listed(changed)})")
    return "; ".join(parts) or "the same runs in another order"


class _Report:
    """A bar over the runs on a terminal, else one line per finished run; on stderr, so that --json stays clean."""

    def __init__(self, sweep: Sweep, n_tasks: int, *, enabled: bool) -> None:
        self.console = Console(stderr=True, highlight=False, soft_wrap=True)
        self.n_runs, self.done = len(sweep.runs), len(sweep.runs) - n_tasks
        self.lines = enabled and not self.console.is_terminal
        self.bar = Progress(
            TextColumn(f"[bold]{sweep.name}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("runs"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            disable=not enabled or self.lines,
        )
        self.task = self.bar.add_task(sweep.name, total=self.n_runs, completed=self.done)
        if enabled:
            self.console.print(
                f"sweep {sweep.name}: {self.n_runs} runs, {self.done} complete already, {n_tasks} to train"
            )

    def __enter__(self) -> _Report:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)

    def finished(self, name: str, outcome: dict[str, Any]) -> None:
        self.done += 1
        self.bar.advance(self.task)
        line = f"[{self.done}/{self.n_runs}] {name}: {outcome['status']} in {outcome['seconds']:.1f} s"
        if outcome["status"] == "failed":
            line += f": {outcome['error']} (traceback: {outcome['error_log']})"
        if self.lines or (outcome["status"] == "failed" and not self.bar.disable):
            self.console.print(line, markup=False)

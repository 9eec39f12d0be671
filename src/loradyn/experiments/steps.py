"""Training steps of the multi-run experiments that plan in rounds (RACT, K-fold): steps survive interruption (a
finished run is read, not retrained; an unfinished one resumes, `loradyn.train.runner.train` resumes it; a folder made
with another configuration is an error, never overwritten), and `Steps` trains a round here or through the sweep's
executors (`loradyn.experiments.executors.dispatch`), the way `loradyn sweep` trains its runs."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loradyn.errors import DataError
from loradyn.experiments.executors import Task, dispatch
from loradyn.io import dumps, read_json
from loradyn.train.config import RunConfig, trained_fields, with_defaults

RUN_JSON = "run.json"


def read_run(run_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """A run directory's ``run.json``, or None where there is none."""
    path = Path(run_dir) / RUN_JSON
    if not path.is_file():
        return None
    run = read_json(path, fix="re-record the run, or point at another run directory")
    if not isinstance(run, dict):
        raise DataError(
            f"run.json holds a {type(run).__name__}, not a run's record",
            path=path,
            fix="point at a run directory made by loradyn train",
        )
    return run


def is_complete(run_dir: str | os.PathLike[str]) -> bool:
    run = read_run(run_dir)
    return run is not None and run.get("status") == "complete"


def check_step(config: RunConfig, run_dir: str | os.PathLike[str]) -> None:
    """Raise a `DataError` if ``run_dir`` holds a run (finished or not) made with another configuration; one data
    folder named by another path (``/work/shared/data``, ``../shared/data``, a link to it) is the same."""
    run = read_run(run_dir)
    if run is None:
        return
    wanted = trained_fields(json.loads(dumps(config.to_dict())))  # as run.json stores it: lists, string keys
    previous = trained_fields(with_defaults(run.get("config") or {}))
    changed = sorted(k for k, v in wanted.items() if previous.get(k) != v)
    if "data_dir" in changed and _same_folder(previous.get("data_dir"), wanted["data_dir"]):
        changed.remove("data_dir")
    if changed:
        raise DataError(
            f"a run made with another configuration is there (it differs in {', '.join(changed)})",
            path=run_dir,
            fix="choose another output folder, or remove this one to train it again",
        )


def _same_folder(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and os.path.realpath(a) == os.path.realpath(b)


def ensure_run(config: RunConfig, run_dir: str | os.PathLike[str], *, show_progress: bool = False) -> dict[str, Any]:
    """Train ``config`` into ``run_dir`` unless it is finished there; return its ``run.json``."""
    from loradyn.train.runner import train

    check_step(config, run_dir)
    if is_complete(run_dir):
        return read_run(run_dir)
    return train(config, run_dir, show_progress=show_progress)


def run_config(run_dir: str | os.PathLike[str]) -> RunConfig:
    """The `RunConfig` a run directory was made with (its ``run.json``)."""
    run = read_run(run_dir)
    path = Path(run_dir) / RUN_JSON
    if run is None:
        raise DataError("no run.json in the run directory", path=path, fix="point at a loradyn run directory")
    values = dict(run.get("config") or {})
    if values.get("noise_class_map"):  # JSON keys are strings; the map is class -> class
        values["noise_class_map"] = {int(a): int(b) for a, b in values["noise_class_map"].items()}
    try:
        return RunConfig(**values)
    except TypeError as err:
        raise DataError(
            f"no readable configuration ({err})", path=path, field="config", fix="re-record the run"
        ) from None


def to_stderr(line: str) -> None:
    """A round's default log: each line to stderr, at once."""
    print(line, file=sys.stderr, flush=True)


class Places:
    """Run directories by configuration: the first step with a configuration names its folder, and a later step
    with the same configuration shares it."""

    def __init__(self) -> None:
        self._dirs: dict[str, Path] = {}

    def __call__(self, config: RunConfig, folder: Path) -> Path:
        return self._dirs.setdefault(dumps(config.to_dict()), folder)


class Steps:
    """The steps of an experiment's rounds: planned (a step whose configuration an earlier one has shares its
    folder), then trained together by `train`, one after another here (``executor=None``) or through a sweep
    executor, ``jobs`` at a time.

    ``folder`` keeps the executor's logs (``folder/.logs/<step>.log``); a step is named by its folder's path below
    ``names_from`` (``/`` as ``__``), and ``log`` gets a line as each step an executor trains ends, ``<what>: <path>
    <status> in N s`` (steps trained here show their progress bar instead, with ``show_progress``).
    """

    def __init__(
        self,
        folder: Path,
        log: Callable[[str], None],
        *,
        what: str,
        executor: str | None,
        jobs: int | None = None,
        slurm: dict[str, Any] | None = None,
        show_progress: bool = False,
        names_from: Path | None = None,
    ) -> None:
        self.folder, self.log, self.what = folder, log, what
        self.executor, self.jobs, self.slurm, self.show_progress = executor, jobs, slurm, show_progress
        self.names_from = names_from or folder
        self.places = Places()
        self.pending: dict[Path, RunConfig] = {}
        self.trained: set[Path] = set()  # trained by this object and not yet reported (see `was_trained`)

    def plan(self, steps: dict[str, tuple[RunConfig, Path]]) -> dict[str, Path]:
        """Each role's run folder; the ones not complete yet are trained by the next `train`."""
        folders = {}
        for role, (config, folder) in steps.items():
            folder = self.places(config, folder)
            check_step(config, folder)
            if not is_complete(folder):
                self.pending[folder] = config
            folders[role] = folder
        return folders

    def train(self) -> None:
        """Train every planned step that is not complete; a `DataError` naming each that failed."""
        pending, self.pending = self.pending, {}
        if self.executor is None:
            for folder, config in pending.items():
                ensure_run(config, folder, show_progress=self.show_progress)
        elif pending:
            tasks = [
                Task(self._name(folder), config.to_dict(), folder, folder.parent / f"{folder.name}.error.log")
                for folder, config in pending.items()
            ]
            failed = []

            def on_done(task: Task, outcome: dict[str, Any]) -> None:
                where = task.run_dir.relative_to(self.names_from)
                self.log(f"{self.what}: {where} {outcome['status']} in {outcome['seconds']:.0f} s")
                if outcome["status"] != "complete":
                    failed.append(f"{task.name}: {outcome['error']} (see {outcome['error_log']})")

            dispatch(
                tasks, executor=self.executor, jobs=self.jobs, on_done=on_done, folder=self.folder, slurm=self.slurm
            )
            if failed:
                raise DataError(
                    f"{len(failed)} step(s) failed: " + "; ".join(failed),
                    path=self.folder,
                    fix="correct the cause and run the same command again: finished steps are kept",
                )
        self.trained |= set(pending)

    def was_trained(self, folder: Path) -> bool:
        """Whether this object trained ``folder`` and this is the first time it is asked (a step shared by several
        roles is "trained" once, then "was done")."""
        trained = folder in self.trained
        self.trained.discard(folder)
        return trained

    def _name(self, folder: Path) -> str:
        return folder.relative_to(self.names_from).as_posix().replace("/", "__")

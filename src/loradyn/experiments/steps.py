"""Training steps of the noisy-label pipelines (K-fold, RACT) that survive interruption: a finished run is read, not
retrained; an unfinished one resumes (`loradyn.train.runner.train` resumes it); a folder made with another
configuration is an error, never overwritten."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from loradyn.errors import DataError
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
    """Raise a `DataError` if ``run_dir`` holds a run (finished or not) made with another configuration."""
    run = read_run(run_dir)
    if run is None:
        return
    wanted = trained_fields(json.loads(dumps(config.to_dict())))  # as run.json stores it: lists, string keys
    previous = trained_fields(with_defaults(run.get("config") or {}))
    changed = sorted(k for k, v in wanted.items() if previous.get(k) != v)
    if changed:
        raise DataError(
            f"a run made with another configuration is there (it differs in {', '.join(changed)})",
            path=run_dir,
            fix="choose another output folder, or remove this one to train it again",
        )


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

"""A sweep directory, analysed as one family: its complete runs, their metrics and statistics, its conditions.

A sweep directory is any folder whose subfolders with a ``run.json`` are runs (what ``loradyn sweep`` writes, or
runs put side by side by hand). Runs that are not complete, and folders that are not runs, are skipped with a
warning line each; the complete runs are analysed together (`loradyn.analyze.analyze` with ``out`` the sweep
folder), so that their conditions aggregate over seeds and their tests form one multiple-testing family.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from loradyn.analyze import ANALYSIS_JSON, analyze
from loradyn.errors import DataError
from loradyn.report.study1.runs import Condition, SweepRun, describe_conditions

#: Folders the report writes into a sweep directory itself: not runs, and not worth a warning.
OWN_FOLDERS = ("report-figures",)


@dataclass
class Sweep:
    path: Path
    runs: list[SweepRun]
    conditions: list[Condition]
    family: dict[str, Any]
    options: dict[str, Any]
    skipped: list[str]
    planned: int | None = None  # runs in the sweep's plan (sweep.json), where it has one

    def run(self, name: str) -> SweepRun:
        for r in self.runs:
            if r.name == name:
                return r
        raise DataError(
            f"no complete run named {name!r} in the sweep",
            path=self.path,
            fix=f"use one of {', '.join(r.name for r in self.runs)}",
        )


def find_runs(sweep_dir: str | os.PathLike[str]) -> tuple[list[Path], list[str]]:
    """The complete runs of a sweep directory, and one line per subfolder skipped (why)."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise DataError("not a folder", path=sweep_dir, fix="point at a sweep directory (a folder of run folders)")
    runs, skipped = [], []
    for child in sorted(p for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if child.name in OWN_FOLDERS:
            continue
        reason = _not_complete(child)
        if reason:
            skipped.append(f"{child.name}: {reason}; skipped")
        else:
            runs.append(child)
    return runs, skipped


def planned_runs(sweep_dir: Path) -> int | None:
    """How many runs the plan in ``sweep.json`` (written by `loradyn sweep`) holds; None without a readable plan."""
    try:
        plan = json.loads((sweep_dir / "sweep.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    runs = plan.get("runs") if isinstance(plan, dict) else None
    return len(runs) if isinstance(runs, list) and runs else None


def _not_complete(folder: Path) -> str | None:
    path = folder / "run.json"
    if not path.is_file():
        return "no run.json (not a run directory)"
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        return f"run.json is not valid JSON ({err})"
    if not isinstance(run, dict) or not isinstance(run.get("config"), dict):
        return "run.json has no config"
    if run.get("status") != "complete":
        return f"status {run.get('status')!r}, not complete"
    for name in ("dynamics.parquet", "examples.parquet"):
        if not (folder / name).is_file():
            return f"no {name}"
    return None


def previous_options(run_dirs: list[Path]) -> dict[str, Any] | None:
    """The analysis options every run's ``stats.json`` was made with, if they all agree."""
    options = []
    for d in run_dirs:
        try:
            options.append(json.loads((d / "stats.json").read_text(encoding="utf-8"))["options"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
    return options[0] if options and all(o == options[0] for o in options) else None


def load_sweep(
    sweep_dir: str | os.PathLike[str],
    *,
    n_resamples: int | None = None,
    seed: int | None = None,
    workers: int = 2,
    force: bool = False,
) -> Sweep:
    """Analyse the complete runs of ``sweep_dir`` as one family and read back what the analysis wrote.

    ``n_resamples`` and ``seed`` are the analysis options; left as None, they are those the runs were analysed
    with before (so that a report does not need ``force`` to follow ``loradyn analyze``), else 10,000 and 0.
    """
    sweep_dir = Path(sweep_dir)
    dirs, skipped = find_runs(sweep_dir)
    if not dirs:
        raise DataError(
            "no complete run in the sweep directory",
            path=sweep_dir,
            fix="point at a folder whose subfolders are run directories with status complete",
        )
    before = previous_options(dirs) or {}
    options = {
        "n_resamples": n_resamples if n_resamples is not None else before.get("n_resamples", 10_000),
        "seed": seed if seed is not None else before.get("seed", 0),
    }
    analyze(dirs, out=sweep_dir, workers=workers, force=force, **options)
    family = json.loads((sweep_dir / ANALYSIS_JSON).read_text(encoding="utf-8"))
    runs = [
        SweepRun(
            d.name,
            d,
            json.loads((d / "run.json").read_text(encoding="utf-8")),
            pd.read_parquet(d / "metrics.parquet"),
            json.loads((d / "stats.json").read_text(encoding="utf-8")),
        )
        for d in dirs
    ]
    by_name = {r.name: r for r in runs}
    groups = [[by_name[name] for name in c["runs"]] for c in family["conditions"]]
    conditions = describe_conditions(family["conditions"], groups)
    return Sweep(sweep_dir, runs, conditions, family["family"], options, skipped, planned_runs(sweep_dir))

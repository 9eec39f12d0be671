"""RACT end to end (``loradyn ract``): for each noisy setting of a `RactConfig`, train a low- and a high-rank
adapter on the noisy labels, flag the examples with rank discrepancy, retrain without them (removed and/or
down-weighted), and set the clean-test accuracy beside training on the noisy data and on clean data (the oracle);
every other detector runs on the same two runs, side by side.

Every step is a run directory under the output folder, so an interrupted RACT resumes where it stopped: a finished
step is read, an unfinished one resumes, and a step whose configuration an earlier one already has shares its run
(the oracle of a seed serves every noise rate; nothing flagged retrains nothing). The layout::

    OUT/ract.json                       the summary (`run_ract`'s return value)
    OUT/detections.parquet, evaluation*  every detector on every setting (`loradyn.noisy.runs.write_results`)
    OUT/oracle-seed<S>/                 clean data, the retrain rank
    OUT/noise<R>-seed<S>/low-r<r>/      the noisy setting at the low rank, and high-r<r>/ at the high rank
    OUT/noise<R>-seed<S>/removed-r<r>/  retrained without the flagged examples (downweighted-r<r>/: down-weighted)
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from loradyn.errors import DataError
from loradyn.io import dumps, write_json
from loradyn.noisy.evaluation import FLAG_PREFIX
from loradyn.noisy.kfold import fold_configs, kfold_probs
from loradyn.noisy.ract_config import Cell, RactConfig
from loradyn.noisy.runs import detect, records, write_results
from loradyn.noisy.steps import check_step, ensure_run, is_complete, read_run
from loradyn.stats.seeds import aggregate_seeds
from loradyn.train.config import RunConfig

RACT_JSON = "ract.json"
#: The steps of a setting, in the order they are reported; ``noisy`` is the retrain rank on the noisy labels.
ROLES = ("low", "high", "noisy", "removed", "downweighted", "oracle")
BASELINE = "disagreement"


def step_config(cell: Cell, *, rank: int, clean: bool = False) -> RunConfig:
    """The run of a setting at ``rank``: on its noisy labels recorded against both label sets, or on clean data
    (``clean``, the oracle: ``noise_rate`` 0)."""
    config = cell.config
    if clean or config.noise_rate == 0:
        return dataclasses.replace(config, rank=rank, noise_rate=0.0, record_labels="original")
    return dataclasses.replace(config, rank=rank, record_labels="both")


class _Places:
    """Run directories by configuration: the first step with a configuration names its folder, and a later step
    with the same configuration shares it."""

    def __init__(self) -> None:
        self._dirs: dict[str, Path] = {}

    def __call__(self, config: RunConfig, folder: Path) -> Path:
        return self._dirs.setdefault(dumps(config.to_dict()), folder)


def check_ract(config: RactConfig, out: str | os.PathLike[str]) -> None:
    """Everything `run_ract` can check before it writes: the output folder and the runs already in it, each
    setting's data (and number of scored examples, for a trusted sample), and the K-fold plan."""
    from loradyn.train.rundata import build_run_data

    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / RACT_JSON).is_file() and not _has_steps(config, out):
        raise DataError("not a RACT output folder, and not empty", path=out, fix="choose another --out")
    places = _Places()
    for cell in config.cells():
        for step, folder in _first_steps(config, cell, out).values():
            check_step(step, places(step, folder))  # a folder of another configuration is an error before training
        noisy = step_config(cell, rank=config.retrain)
        try:
            data = build_run_data(noisy)
            if config.kfold is not None:
                build_run_data(fold_configs(noisy, config.kfold)[0])
        except DataError as err:
            message = f"setting {cell.name}: {err.message}"
            raise DataError(message, path=err.path, field=err.field, fix=err.fix) from None
        except ValueError as err:
            raise DataError(f"setting {cell.name}: {err}", fix="correct the RACT configuration") from None
        scored = len(data.train) if config.scope == "train" else len(data.tracked)
        if config.trusted_size is not None and config.trusted_size > scored:
            raise DataError(
                f"a trusted sample of {config.trusted_size} from {scored} scored examples",
                field="trusted_size",
                fix=f"use trusted_size <= {scored}",
            )


def _first_steps(config: RactConfig, cell: Cell, out: Path) -> dict[str, tuple[RunConfig, Path]]:
    """The steps of a setting known before detection, in order: the oracle, the low and the high rank, and the
    retrain rank on the noisy labels (the high-rank run unless another rank is retrained), each with its folder."""
    folder, rank = out / cell.name, config.retrain
    return {
        "oracle": (step_config(cell, rank=rank, clean=True), out / f"oracle-seed{cell.config.seed}"),
        "low": (step_config(cell, rank=config.low_rank), folder / f"low-r{config.low_rank}"),
        "high": (step_config(cell, rank=config.high_rank), folder / f"high-r{config.high_rank}"),
        "noisy": (step_config(cell, rank=rank), folder / f"noisy-r{rank}"),
    }


def _has_steps(config: RactConfig, out: Path) -> bool:
    """Whether ``out`` holds run folders of this RACT from an interrupted start (before its ract.json)."""
    return any((out / cell.name).is_dir() for cell in config.cells()) or any(out.glob("oracle-seed*"))


def run_ract(
    config: RactConfig,
    out: str | os.PathLike[str],
    *,
    show_progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) RACT into ``out``; write ``ract.json`` and the detectors' side-by-side there.

    Parameters
    ----------
    config
        The setting(s) and RACT's choices.
    out
        The output folder (created; one holding this RACT's steps is resumed).
    show_progress
        Passed to ``train``.
    log
        Called with a line per step (default: stderr).

    Returns
    -------
    dict
        ``ract.json``: ``config``; ``settings``, one per grid cell with each role's run folder and clean-test
        accuracy (``val_accuracy``: the last epoch's validation accuracy, on the dataset's clean held-out split),
        the flags and rank discrepancy's detection metrics at ``threshold``; ``accuracy`` and ``detection``, their
        mean and SD over seeds per noise rate; ``detectors``, every detector's evaluation over seeds
        (``evaluation_conditions.parquet``); ``seconds`` (this call's wall time, and the steps' training and
        probing time summed); ``written``.
    """
    out = Path(out)
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    check_ract(config, out)
    started = time.perf_counter()
    places = _Places()
    settings, blocks = [], []
    for cell in config.cells():
        setting, detections = _run_setting(config, cell, out, places, show_progress=show_progress, log=log)
        settings.append(setting)
        blocks.append(detections)
    results = write_results(pd.concat(blocks, ignore_index=True), out)
    _add_detection(settings, pd.DataFrame(results["runs"]), config.threshold)
    folders = {Path(s["runs"][role]["dir"]) for s in settings for role in s["runs"]}
    summary = {
        "status": "complete",
        "config": config.to_dict(),
        "settings": settings,
        "accuracy": _over_seeds(settings, [f"{role}_accuracy" for role in ROLES]),
        "detection": _over_seeds(settings, ["n_flagged", "precision", "recall", "f1", "auroc", "baseline_f1"]),
        "detectors": results["conditions"],
        "seconds": {"wall": time.perf_counter() - started, "steps": sum(_train_seconds(f) for f in folders)},
        "written": [*results["written"], str(out / RACT_JSON)],
    }
    write_json(out / RACT_JSON, summary)
    return json.loads(dumps(summary))


def _run_setting(
    config: RactConfig,
    cell: Cell,
    out: Path,
    places: _Places,
    *,
    show_progress: bool,
    log: Callable[[str], None],
) -> tuple[dict[str, Any], pd.DataFrame]:
    """One setting's steps, in order: oracle, low, high (and the retrain rank on the noisy labels if it is
    neither), the K folds, detection, removed, down-weighted."""

    def step(role: str, run_config: RunConfig, run_dir: Path) -> tuple[Path, dict[str, Any]]:
        run_dir = places(run_config, run_dir)
        done = is_complete(run_dir)
        run = ensure_run(run_config, run_dir, show_progress=show_progress)
        what = "was done" if done else "trained"
        log(f"ract {cell.name}: {role} {what} ({run_dir}); clean-test accuracy {run['final']['val_accuracy']:.4f}")
        return run_dir, run

    runs = {role: step(role, *planned) for role, planned in _first_steps(config, cell, out).items()}
    if config.kfold is not None:
        kfold_probs(runs["noisy"][0], config.kfold, show_progress=show_progress)
    scored = list(dict.fromkeys(runs[role][0] for role in ("low", "high", "noisy")))
    detections = detect(
        scored,
        scope=config.scope,
        source=config.source,
        window=config.window,
        ranks=(config.low_rank, config.high_rank),
        trusted=config.trusted_size,
    )
    discrepancy = detections[detections["detector"] == "rank_discrepancy"]
    flagged = sorted(discrepancy.loc[discrepancy[f"{FLAG_PREFIX}{config.threshold}"].astype(bool), "example_id"])
    log(f"ract {cell.name}: rank discrepancy flags {len(flagged)} of {len(discrepancy)} examples ({config.threshold})")
    folder, rank, noisy_config = out / cell.name, config.retrain, step_config(cell, rank=config.retrain)
    if config.action in ("remove", "both"):
        removed = dataclasses.replace(noisy_config, exclude_ids=flagged or None)
        runs["removed"] = step("removed", removed, folder / f"removed-r{rank}")
    if config.action in ("downweight", "both"):
        downweighted = dataclasses.replace(noisy_config, downweight_ids=flagged or None)
        runs["downweighted"] = step("downweighted", downweighted, folder / f"downweighted-r{rank}")
    noisy_run = runs["noisy"][1]
    setting: dict[str, Any] = {
        "setting": cell.name,
        "noise_rate": cell.config.noise_rate,
        "seed": cell.config.seed,
        "n_train": noisy_run["data"]["n_train"],
        "n_validation": noisy_run["data"]["n_validation"],
        "n_noisy": noisy_run["data"]["n_noisy"],
        "n_scored": len(discrepancy),
        "n_flagged": len(flagged),
        "n_flagged_noisy": int(discrepancy.loc[discrepancy["example_id"].isin(flagged), "is_noisy"].sum()),
        "runs": {
            role: {
                "dir": str(run_dir),
                "rank": run["config"]["rank"],
                "val_accuracy": run["final"]["val_accuracy"],
                "downweight": run["config"]["downweight"] if role == "downweighted" else None,
            }
            for role, (run_dir, run) in sorted(runs.items(), key=lambda item: ROLES.index(item[0]))
        },
    }
    for role in ROLES:
        setting[f"{role}_accuracy"] = setting["runs"][role]["val_accuracy"] if role in runs else None
    return setting, detections


def _add_detection(settings: list[dict[str, Any]], evaluation: pd.DataFrame, threshold: str) -> None:
    """Rank discrepancy's metrics at ``threshold`` for each setting, and the trivial baseline's: prediction
    disagreement by its own rule (final prediction != label) on the stronger of the two runs, by F1."""
    metrics = ("precision", "recall", "f1", "auroc", "average_precision")
    for setting in settings:
        rows = evaluation[(evaluation["noise_rate"] == setting["noise_rate"]) & (evaluation["seed"] == setting["seed"])]
        ract = rows[(rows["detector"] == "rank_discrepancy") & (rows["threshold"] == threshold)]
        setting.update({m: ract[m].iloc[0] for m in metrics})
        baseline = rows[(rows["detector"] == BASELINE) & (rows["threshold"] == "own")]
        best = baseline.sort_values("f1", ascending=False, na_position="last").iloc[0]
        setting.update({"baseline_f1": best["f1"], "baseline_rank": int(best["rank"]), "baseline_auroc": best["auroc"]})


def _over_seeds(settings: list[dict[str, Any]], columns: list[str]) -> list[dict[str, Any]]:
    """Per noise rate: the number of seeds, and each column's mean and SD (ddof 1) over them."""
    table = pd.DataFrame(settings)
    rows = []
    for rate, group in table.groupby("noise_rate", sort=True):
        row: dict[str, Any] = {"noise_rate": rate, "n_seeds": len(group)}
        for column in columns:
            summary = aggregate_seeds(pd.to_numeric(group[column], errors="coerce").to_numpy(dtype=float))
            row[f"{column}_mean"], row[f"{column}_sd"] = summary["mean"], summary["sd"]
        rows.append(row)
    return records(pd.DataFrame(rows))


def _train_seconds(run_dir: Path) -> float:
    run = read_run(run_dir) or {}
    timings = run.get("timings", {})
    return float(timings.get("train", 0.0)) + float(timings.get("probe", 0.0))

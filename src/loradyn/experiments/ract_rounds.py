"""RACT end to end (``loradyn ract``): for each noisy setting of a `RactConfig`, train a low- and a high-rank
adapter on the noisy labels, flag the examples with rank discrepancy, retrain without them (removed and/or
down-weighted), and set the clean-test accuracy beside training on the noisy data and on clean data (the oracle);
every other detector runs on the same two runs, side by side.

Every step is a run directory under the output folder, so an interrupted RACT resumes where it stopped: a finished
step is read, an unfinished one resumes, and a step whose configuration an earlier one already has shares its run
(the oracle of a seed serves every noise rate; nothing flagged retrains nothing). The layout::

    OUT/ract.json                       the summary (`run_ract`'s return value)
    OUT/detections.parquet, evaluation*  every detector on every setting (`loradyn.experiments.detect.write_results`)
    OUT/oracle-seed<S>/                 clean data, the retrain rank
    OUT/noise<R>-seed<S>/low-r<r>/      the noisy setting at the low rank, and high-r<r>/ at the high rank
    OUT/noise<R>-seed<S>/removed-r<r>/  retrained without the flagged examples (downweighted-r<r>/: down-weighted),
                                        at the retrain rank and, with ``retrain_low``, removed at the low rank
    OUT/noise<R>-seed<S>/curve-r<r>/    claim (ii)'s runs (``rank_curve``) at ranks no other step has
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from loradyn.errors import DataError
from loradyn.experiments.detect import EXAMPLES, detect, records, write_results
from loradyn.experiments.executors import check_executor
from loradyn.experiments.kfold import fold_configs, plan_folds, write_oof
from loradyn.experiments.ract_config import Cell, RactConfig
from loradyn.experiments.steps import Places, Steps, check_step, read_run, to_stderr
from loradyn.io import dumps, write_json
from loradyn.noisy.evaluation import FLAG_PREFIX
from loradyn.noisy.memorisation import memorisation_curve, separation
from loradyn.stats.seeds import aggregate_seeds
from loradyn.store import read_dynamics
from loradyn.train.config import RunConfig

RACT_JSON = "ract.json"
#: The steps of a setting, in the order they are reported; ``noisy`` is the retrain rank on the noisy labels,
#: ``removed_low`` the low rank retrained without the flagged examples (``retrain_low``).
ROLES = ("low", "high", "noisy", "removed", "downweighted", "removed_low", "oracle")
#: The runs whose memorisation of the noisy labels is measured (claims (i) and (iii)).
MEMORISING = ("low", "high")
BASELINE = "disagreement"


def step_config(cell: Cell, *, rank: int, clean: bool = False) -> RunConfig:
    """The run of a setting at ``rank``: on its noisy labels recorded against both label sets, or on clean data
    (``clean``, the oracle: ``noise_rate`` 0)."""
    config = cell.config
    if clean or config.noise_rate == 0:
        return dataclasses.replace(config, rank=rank, noise_rate=0.0, record_labels="original")
    return dataclasses.replace(config, rank=rank, record_labels="both")


def check_ract(config: RactConfig, out: str | os.PathLike[str]) -> None:
    """Everything `run_ract` can check before it writes: the output folder and the runs already in it, each
    setting's data (and number of scored examples, for a trusted sample), and the K-fold plan."""
    from loradyn.train.rundata import build_run_data

    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / RACT_JSON).is_file() and not _has_steps(config, out):
        raise DataError("not a RACT output folder, and not empty", path=out, fix="choose another --out")
    places = Places()
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
    executor: str | None = None,
    jobs: int | None = None,
    slurm: dict[str, Any] | None = None,
    show_progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) RACT into ``out``; write ``ract.json`` and the detectors' side-by-side there.

    The steps train in rounds: first every run known before detection (the oracles, the low- and high-rank
    runs of every setting, the rank curve), then the K held-out folds of each noisy run where asked for, then every
    retraining; each round in this process one run after another (``executor=None``), or through a sweep executor
    (``local``, ``ray`` or ``slurm``, ``jobs`` at a time, as `loradyn sweep` trains; a script that uses ``local``
    guards its top level as `loradyn.experiments.execution.run_sweep` says).

    Parameters
    ----------
    config
        The setting(s) and RACT's choices.
    out
        The output folder (created; one holding this RACT's steps is resumed).
    executor, jobs, slurm
        Where the steps train (see `loradyn.experiments.executors.dispatch`); None trains them here.
    show_progress
        Passed to ``train`` when the steps train here.
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
    log = log or to_stderr
    if executor is not None:
        check_executor(executor, jobs, slurm=slurm)
    check_ract(config, out)
    started = time.perf_counter()
    steps = Steps(out, log, what="ract", executor=executor, jobs=jobs, slurm=slurm, show_progress=show_progress)
    cells = config.cells()
    planned = {cell.name: steps.plan(_first_steps(config, cell, out)) for cell in cells}
    curve = steps.plan(_curve_steps(config, out))
    steps.train()
    folds = {}
    if config.kfold is not None:  # the held-out folds of each noisy run, once it is there, trained alike
        folds = {cell.name: plan_folds(steps, planned[cell.name]["noisy"], config.kfold) for cell in cells}
        steps.train()
    settings, blocks = [], []
    for cell in cells:
        runs = _report(steps, cell, planned[cell.name])
        detections, flagged = _detect(config, cell, runs, folds.get(cell.name), log)
        retrains = steps.plan(_retrain_steps(config, cell, out, flagged))
        settings.append((cell, runs, retrains, detections, flagged))
        blocks.append(detections)
    steps.train()
    settings = [
        _setting(cell, {**runs, **_report(steps, cell, retrains)}, detections, flagged)
        for cell, runs, retrains, detections, flagged in settings
    ]
    memorisation = [row for s in settings for row in _memorisation(s)]
    results = write_results(pd.concat(blocks, ignore_index=True), out)
    _add_detection(settings, pd.DataFrame(results["runs"]), config.threshold)
    folders = {Path(s["runs"][role]["dir"]) for s in settings for role in s["runs"]} | set(curve.values())
    summary = {
        "status": "complete",
        "config": config.to_dict(),
        "settings": settings,
        "accuracy": _over_seeds(settings, [f"{role}_accuracy" for role in ROLES]),
        "detection": _over_seeds(settings, ["n_flagged", "precision", "recall", "f1", "auroc", "baseline_f1"]),
        "detectors": results["conditions"],
        "capacity": _capacity(config, settings[0]["n_train"]),
        "memorisation": memorisation,
        "memorisation_over_seeds": _memorisation_over_seeds(memorisation),
        "rank_curve": _rank_curve(curve),
        "seconds": {"wall": time.perf_counter() - started, "steps": sum(_train_seconds(f) for f in folders)},
        "written": [*results["written"], str(out / RACT_JSON)],
    }
    write_json(out / RACT_JSON, summary)
    return json.loads(dumps(summary))


def _report(steps: Steps, cell: Cell, folders: dict[str, Path]) -> dict[str, tuple[Path, dict]]:
    """Each role's folder and run.json, with a line per step ("trained" the first time a run trained by this call
    is named, "was done" after)."""
    runs = {}
    for role, folder in folders.items():
        run = read_run(folder)
        what = "trained" if steps.was_trained(folder) else "was done"
        steps.log(f"ract {cell.name}: {role} {what} ({folder}); clean-test accuracy {run['final']['val_accuracy']:.4f}")
        runs[role] = (folder, run)
    return runs


def _retrain_steps(config: RactConfig, cell: Cell, out: Path, flagged: list[str]) -> dict[str, tuple[RunConfig, Path]]:
    """The retrainings of a setting: the retrain rank without the flagged examples, and/or with them down-weighted;
    with ``retrain_low``, the low rank without them too (the paper's retraining)."""
    folder, rank = out / cell.name, config.retrain
    noisy, steps = step_config(cell, rank=rank), {}
    if config.action in ("remove", "both"):
        steps["removed"] = (dataclasses.replace(noisy, exclude_ids=flagged or None), folder / f"removed-r{rank}")
    if config.action in ("downweight", "both"):
        steps["downweighted"] = (
            dataclasses.replace(noisy, downweight_ids=flagged or None),
            folder / f"downweighted-r{rank}",
        )
    if config.retrain_low:
        low = dataclasses.replace(step_config(cell, rank=config.low_rank), exclude_ids=flagged or None)
        steps["removed_low"] = (low, folder / f"removed-r{config.low_rank}")
    return steps


def _curve_steps(config: RactConfig, out: Path) -> dict[str, tuple[RunConfig, Path]]:
    """Claim (ii)'s runs, keyed ``<rate>|<rank>|<seed>``, in the folders RACT's own steps of the same configuration
    have (the oracle, a setting's low- and high-rank runs), so that each trains once whichever command comes
    first; any other rank in ``noise<R>-seed<S>/curve-r<r>``."""
    steps = {}
    for rate, rank, setting in config.curve_cells():
        cell = Cell(f"noise{rate:g}-seed{setting.seed}", setting)
        named = {config.low_rank: f"low-r{rank}", config.high_rank: f"high-r{rank}"}
        folder = out / cell.name / named.get(rank, f"curve-r{rank}")
        if rate == 0 and rank == config.retrain:
            folder = out / f"oracle-seed{setting.seed}"
        steps[f"{rate}|{rank}|{setting.seed}"] = (step_config(cell, rank=rank), folder)
    return steps


def _detect(
    config: RactConfig,
    cell: Cell,
    runs: dict[str, tuple[Path, dict]],
    folds: list[Path] | None,
    log: Callable[[str], None],
) -> tuple[pd.DataFrame, list[str]]:
    """Every detector on a setting's runs (the noisy run's K ``folds``' probabilities first, where asked for), and
    rank discrepancy's flags."""
    if folds is not None:
        write_oof(runs["noisy"][0], folds)
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
    return detections, flagged


def _setting(
    cell: Cell, runs: dict[str, tuple[Path, dict]], detections: pd.DataFrame, flagged: list[str]
) -> dict[str, Any]:
    """A setting's summary: its sizes, flags, and each role's run folder and clean-test accuracy."""
    discrepancy = detections[detections["detector"] == "rank_discrepancy"]
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
                "downweight": run["config"]["downweight"] if role.startswith("downweighted") else None,
            }
            for role, (run_dir, run) in sorted(runs.items(), key=lambda item: ROLES.index(item[0]))
        },
    }
    for role in ROLES:
        setting[f"{role}_accuracy"] = setting["runs"][role]["val_accuracy"] if role in runs else None
    return setting


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


def _memorisation(setting: dict[str, Any]) -> list[dict[str, Any]]:
    """Claims (i) and (iii) for a noisy setting's low- and high-rank runs: per epoch the share of noisy items fitted
    to their wrong label and of clean items to theirs, and the step from which each group stays fitted."""
    if setting["n_noisy"] == 0:
        return []
    rows = []
    for role in MEMORISING:
        folder = Path(setting["runs"][role]["dir"])
        examples = pd.read_parquet(folder / EXAMPLES)
        is_noisy = examples[examples["split"] == "train"].set_index("example_id")["is_noisy"].astype(bool)
        dynamics = read_dynamics(folder, mode="inline")
        apart = separation(dynamics, is_noisy)
        for epoch in records(memorisation_curve(dynamics, is_noisy)):
            rows.append(
                {
                    "noise_rate": setting["noise_rate"],
                    "seed": setting["seed"],
                    "role": role,
                    "rank": setting["runs"][role]["rank"],
                    **epoch,
                    **apart,
                }
            )
    return rows


def _memorisation_over_seeds(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and SD over seeds of each memorisation measure, per noise rate, rank and epoch."""
    if not rows:
        return []
    table = pd.DataFrame(rows)
    measures = ["noisy_fit", "clean_fit", "clean_median_step", "noisy_median_step", "clean_never", "noisy_never"]
    out = []
    for (rate, rank, epoch), group in table.groupby(["noise_rate", "rank", "epoch"], sort=True):
        row: dict[str, Any] = {"noise_rate": rate, "rank": rank, "epoch": epoch, "n_seeds": len(group)}
        for measure in measures:
            summary = aggregate_seeds(group[measure].to_numpy(dtype=float))
            row[f"{measure}_mean"], row[f"{measure}_sd"] = summary["mean"], summary["sd"]
        out.append(row)
    return records(pd.DataFrame(out))


def _capacity(config: RactConfig, n_train: int) -> dict[str, Any]:
    """The low and high ranks' capacities, r(d + k - r) summed over the adapted modules only, against the training
    set's size (the second study's premise: the low rank's below n, the high rank's above)."""
    from loradyn.models.registry import resolve_model
    from loradyn.theory.capacity import adapter_capacity

    model = resolve_model(config.run.model, revision=config.run.model_revision).config
    ranks = sorted({config.low_rank, config.high_rank, *((config.rank_curve or {}).get("rank", []))})
    capacities = {rank: adapter_capacity(model, rank=rank, targets=config.run.targets) for rank in ranks}
    return {
        "n_train": n_train,
        "targets": [m.target for m in capacities[ranks[0]].modules],
        "modules": sum(m.count for m in capacities[ranks[0]].modules),
        "dof": {str(rank): c.dof for rank, c in capacities.items()},
        "brackets": capacities[config.low_rank].dof < n_train < capacities[config.high_rank].dof,
    }


def _rank_curve(folders: dict[str, Path]) -> list[dict[str, Any]]:
    """Claim (ii): clean-test accuracy per noise rate and rank, mean and SD over seeds."""
    rows = []
    for key, folder in folders.items():
        rate, rank, seed = key.split("|")
        run = read_run(folder)
        rows.append(
            {"noise_rate": float(rate), "rank": int(rank), "seed": int(seed), "accuracy": run["final"]["val_accuracy"]}
        )
    if not rows:
        return []
    out = []
    for (rate, rank), group in pd.DataFrame(rows).groupby(["noise_rate", "rank"], sort=True):
        summary = aggregate_seeds(group["accuracy"].to_numpy(dtype=float))
        out.append(
            {
                "noise_rate": rate,
                "rank": rank,
                "n_seeds": len(group),
                "accuracy_mean": summary["mean"],
                "accuracy_sd": summary["sd"],
            }
        )
    return records(pd.DataFrame(out))

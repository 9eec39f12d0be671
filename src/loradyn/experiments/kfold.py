"""Out-of-sample class probabilities for confident learning, from K runs that each hold out one fold.

The folds are the training engine's own (``RunConfig.folds`` / ``fold``: stratified by the labels trained on,
planned in `loradyn.train.rundata`); a held-out fold is not trained on and is the run's tracked set, so its last
probe scores every held-out item with a model that never saw it. `plan_folds` plans the K runs of a run's
configuration as steps of a round (`loradyn.experiments.steps.Steps`, which trains them here or through a sweep
executor, resuming an unfinished one, skipping a finished one); `write_oof` then writes ``oof_probs.parquet`` into
that run's directory, where `loradyn.experiments.detect.detect` reads it.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pandas as pd

from loradyn.errors import DataError
from loradyn.experiments.steps import Steps, check_step, run_config
from loradyn.io import write_atomic
from loradyn.store import DYNAMICS, read_dynamics
from loradyn.train.config import RunConfig

OOF_PROBS = "oof_probs.parquet"
EXAMPLES = "examples.parquet"
#: cleanlab's own default number of folds (``cv_n_folds``).
DEFAULT_FOLDS = 5


def fold_configs(config: RunConfig, k: int = DEFAULT_FOLDS) -> list[RunConfig]:
    """``config`` K times, fold ``i`` held out of the ``i``-th: ``folds=k, fold=i, record_probs=True``.

    The held-out fold is the tracked set, so ``n_tracked`` and ``tracked_ids`` are dropped; everything else (model,
    data, noise, recipe, seed) is ``config``'s, so the folds train on the labels ``config`` trains on.
    """
    if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 2:
        raise DataError(f"k must be an integer of at least 2, got {k!r}", field="kfold", fix="use 2 or more folds (5)")
    return [
        dataclasses.replace(config, folds=int(k), fold=i, record_probs=True, n_tracked=None, tracked_ids=None)
        for i in range(k)
    ]


def fold_dirs(run_dir: str | os.PathLike[str], k: int) -> list[Path]:
    """Where the K runs of ``run_dir``'s configuration go: ``run_dir/kfold-<k>/fold-<i>``."""
    return [Path(run_dir) / f"kfold-{k}" / f"fold-{i}" for i in range(k)]


def check_kfold(run_dir: str | os.PathLike[str], k: int = DEFAULT_FOLDS) -> list[RunConfig]:
    """Plan the K folds of ``run_dir``'s configuration without writing anything; return their configurations.

    Raises a `DataError` (naming ``run_dir``) where the folds cannot be planned, e.g. a class with fewer training
    examples than folds, or where an earlier K-fold in ``run_dir`` was made with another configuration.
    """
    from loradyn.train.rundata import build_run_data

    configs = fold_configs(run_config(run_dir), k)
    try:
        build_run_data(configs[0])  # every fold is planned by the same StratifiedKFold: one build checks all
    except DataError as err:
        raise DataError(err.message, path=err.path or run_dir, field=err.field, fix=err.fix) from None
    for config, folder in zip(configs, fold_dirs(run_dir, k), strict=True):
        check_step(config, folder)
    return configs


def plan_folds(steps: Steps, run_dir: str | os.PathLike[str], k: int = DEFAULT_FOLDS) -> list[Path]:
    """Plan the K held-out-fold runs of ``run_dir``'s configuration into ``steps`` (trained by its next `train`,
    into ``run_dir/kfold-<k>/fold-<i>``); return their folders."""
    folds = zip(check_kfold(run_dir, k), fold_dirs(run_dir, k), strict=True)
    return list(steps.plan({f"fold-{i}": step for i, step in enumerate(folds)}).values())


def write_oof(run_dir: str | os.PathLike[str], folders: list[Path]) -> pd.DataFrame:
    """Write the out-of-sample probabilities of ``run_dir``'s K trained fold runs (``folders``, as `plan_folds`
    returned them: a fold another run's plan already has is that run's folder) to ``run_dir/oof_probs.parquet``
    (atomically).

    Returns
    -------
    DataFrame
        One row per training example of ``run_dir``: ``example_id``, ``probs`` (``(K_classes,)`` float: the last
        probe of the run that held it out), ``label`` (trained on) and ``fold``, as written.
    """
    table = assemble_oof(folders, Path(run_dir) / EXAMPLES)
    write_atomic(Path(run_dir) / OOF_PROBS, lambda tmp: table.to_parquet(tmp, index=False))
    return table


def assemble_oof(folders: list[Path], examples_path: Path) -> pd.DataFrame:
    """Each training example's class probabilities from the final probe of the fold run that held it out.

    Parameters
    ----------
    folders
        The K fold runs, in fold order, each recorded with ``record_probs``.
    examples_path
        The scored run's ``examples.parquet``: every training example must be held out exactly once, with the label
        that run trained on.
    """
    parts = []
    for i, folder in enumerate(folders):
        probes = read_dynamics(folder, mode="probe")
        if "probs" not in probes:
            raise DataError(
                "no class probabilities in the probes",
                path=folder / DYNAMICS,
                field="probs",
                fix="train the folds with record_probs=True (fold_configs sets it)",
            )
        final = probes[probes["step"] == probes["step"].max()].drop_duplicates("example_id")
        parts.append(pd.DataFrame({"example_id": final["example_id"], "probs": final["probs"], "fold": i}))
    table = pd.concat(parts).sort_values("example_id", ignore_index=True)
    examples = pd.read_parquet(examples_path)
    train = examples[examples["split"] == "train"].set_index("example_id").sort_index()
    if table["example_id"].tolist() != train.index.tolist():
        raise DataError(
            f"the folds hold out {len(table)} example(s) ({table['example_id'].nunique()} distinct), not each of the "
            f"run's {len(train)} training examples once",
            path=folders[0].parent,
            field="fold",
            fix="assemble every fold (0..K-1) of one plan made from this run's configuration",
        )
    labels = train["label"].to_numpy()
    if not np.array_equal(_fold_labels(folders).reindex(train.index).to_numpy(), labels):
        raise DataError(
            "the folds trained on other labels than the run",
            path=examples_path,
            field="label",
            fix="train the folds from this run's configuration (the same noise_rate, noise_kind and noise_seed)",
        )
    return table.assign(label=labels)[["example_id", "probs", "label", "fold"]]


def _fold_labels(folders: list[Path]) -> pd.Series:
    """The labels the fold runs trained on (identical across folds), by example id."""
    examples = pd.read_parquet(folders[0] / EXAMPLES)
    return examples[examples["split"] == "train"].set_index("example_id")["label"]

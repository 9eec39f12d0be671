"""The per-example metrics of one run directory: one row per tracked example (``metrics.parquet``).

Columns (the annotation columns come from ``examples.parquet`` where the run has them):

======================  ===========================================================================================
``aulc``                mean probe loss over all checkpoints, step 0 included (the first study's AULC)
``aulc_trapezoid``      step-weighted trapezoid area over the steps spanned
``delta_loss``          final minus step-0 probe loss (the first study's un-learning measure)
``learned_then_lost``   1 if learned at a trained checkpoint but not at the last one, else 0
``late_unlearning``     final minus lowest probe loss; ``late_slope`` its least-squares slope over the last half
``loss_slope``          least-squares slope of the probe loss over all checkpoints (per step)
``final_loss``          loss at the last probe; ``final_correct`` whether it is learned there
``first_learned``       the step from which the example stays learned; null if it is not learned at the end
``threshold_learning_time``  the step of the first probe whose loss is below 0.693 (the first study's threshold
                        learning time); null if it never is
``forgetting_events``   learned -> not-learned transitions over its training presentations (Toneva et al.); inf
                        if never learned there (the most forgettable, as Toneva et al. rank them)
``forgetting_events_probe``  the same over probes from the first trained checkpoint
``confidence``, ``variability``, ``correctness``, ``region``
                        the data map (Swayamdipta et al.): per-epoch mean and SD of p(gold) in the training pass,
                        share of epochs learned, and its region (null for runs without training-pass rows)
``probe_confidence``, ``probe_variability``, ``probe_correctness``
                        the same statistics over every probe checkpoint, step 0 included (the first study's map)
``aum``                 mean margin over training presentations (Pleiss et al.)
``final_confidence``, ``prediction_entropy``  at the last probe, when the run kept probabilities
``label_skewness``      skewness of the item's annotator vote counts (``scipy.stats.skew``, biased: the first
                        study's covariate), where the run has votes
======================  ===========================================================================================

"Learned" means the argmax prediction is the label, everywhere (`curves.learned`). Missing probe cells (a NaN
loss or an absent row) are left out of every metric and counted; a metric that a missing cell leaves undefined
is NaN for that example.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from loradyn.errors import DataError
from loradyn.io import read_parquet
from loradyn.metrics import curves
from loradyn.metrics.calibration import prediction_entropy
from loradyn.metrics.datamap import data_map
from loradyn.metrics.margins import aum
from loradyn.store import read_dynamics

#: Annotation and covariate columns copied from ``examples.parquet`` when present.
EXAMPLE_COLUMNS = (
    "entropy",
    "category",
    "original_label",
    "is_noisy",
    "majority_confidence",
    "premise_words",
    "hypothesis_words",
    "total_words",
)
TRAINING_PASS = ("confidence", "variability", "correctness", "region", "aum", "forgetting_events")


def example_metrics(run_dir: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Per-example metrics of a run's tracked items, against the labels they truly have (``target ==
    "original"``), joined to their annotations.

    Returns the table and a note of what was left out: ``dropped_rows`` (probe rows with a NaN or infinite loss)
    and ``missing_cells`` (example x checkpoint cells without a finite loss, absent rows included).
    """
    run_dir = Path(run_dir)
    dynamics = read_dynamics(run_dir)
    if "target" in dynamics:
        dynamics = dynamics[dynamics["target"] == "original"]
    dynamics = dynamics.assign(correct=curves.learned(dynamics["pred"], dynamics["label"]))
    probes = dynamics[dynamics["mode"] == "probe"]
    finite = np.isfinite(probes["loss"].to_numpy())
    if probes.loc[finite, "step"].nunique() < 2:
        diverged = probes.loc[~finite, "step"].nunique()
        raise DataError(
            f"only {probes.loc[finite, 'step'].nunique()} probe checkpoint(s) with finite losses; learning-curve "
            "metrics need at least 2"
            + (f" ({diverged} checkpoint(s) have NaN or infinite losses: the run diverged)" if diverged else ""),
            path=run_dir / "dynamics.parquet",
            field="loss" if diverged else "checkpoint",
            fix="train again with a lower lr" if diverged else "record more probes (probe_every) or train longer",
        )
    probes = probes[finite]
    ids, steps, (loss, p_gold, correct) = curves.checkpoint_matrices(probes, ("loss", "p_gold", "correct"))
    note = {"dropped_rows": int((~finite).sum()), "missing_cells": int(np.isnan(loss).sum())}
    trained = steps > 0
    table = pd.DataFrame(
        {
            "example_id": ids,
            "aulc": curves.aulc(loss),
            "aulc_trapezoid": curves.aulc(loss, steps, method="trapezoid"),
            "delta_loss": curves.delta_loss(loss),
            "learned_then_lost": curves.learned_then_lost(correct[:, trained]),
            "late_unlearning": curves.late_unlearning(loss),
            "late_slope": curves.late_unlearning(loss, steps, kind="slope"),
            "loss_slope": curves.loss_slope(loss, steps),
            "final_loss": loss[:, -1],
            "final_correct": correct[:, -1],
            "first_learned": curves.first_learned(correct, steps),
            "threshold_learning_time": curves.threshold_learning_time(loss, steps),
            "forgetting_events_probe": curves.forgetting_events(correct[:, trained]),
        }
    )
    probe_map = data_map(p_gold, correct).drop(columns="region").add_prefix("probe_")
    table = pd.concat([table, probe_map, _training_pass(dynamics, ids)], axis=1)
    if "probs" in probes:
        last = probes[probes["step"] == steps[-1]].set_index("example_id").reindex(ids)
        k = len(probes["probs"].iloc[0])
        probs = np.stack([p if isinstance(p, np.ndarray | list) else np.full(k, np.nan) for p in last["probs"]])
        table["final_confidence"] = probs.max(axis=1)
        table["prediction_entropy"] = prediction_entropy(probs)
    return table.join(_annotations(run_dir, ids), on="example_id"), note


def _training_pass(dynamics: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    """The data map, AUM and forgetting events from the training pass (inline rows, one column per epoch, in
    presentation order); NaN columns for a run without them."""
    inline = dynamics[(dynamics["mode"] == "inline") & dynamics["example_id"].isin(ids)]
    if inline.empty:
        return pd.DataFrame({c: np.full(len(ids), np.nan) for c in TRAINING_PASS}).astype({"region": object})
    epoch_ids, _, (epoch_p, epoch_correct) = curves.checkpoint_matrices(inline, ("p_gold", "correct"), by="epoch")
    table = data_map(epoch_p, epoch_correct).assign(forgetting_events=curves.forgetting_events(epoch_correct))
    table = table.set_index(epoch_ids).join(aum(inline))
    return table.reindex(ids)[list(TRAINING_PASS)].reset_index(drop=True)


def _annotations(run_dir: Path, ids: np.ndarray) -> pd.DataFrame:
    path = run_dir / "examples.parquet"
    if not path.is_file():
        raise DataError("no examples.parquet in the run directory", path=path, fix="re-record the run")
    examples = read_parquet(path, fix="re-record the run").set_index("example_id")
    unknown = sorted(set(ids) - set(examples.index))
    if unknown:
        raise DataError(
            f"{len(unknown)} example ids in the dynamics have no annotations, e.g. {unknown[:3]}",
            path=path,
            field="example_id",
            fix="dynamics and examples.parquet must come from the same run",
        )
    table = examples[[c for c in EXAMPLE_COLUMNS if c in examples]]
    votes = examples.filter(regex="^votes_")
    if votes.shape[1] >= 2:
        counts = votes.to_numpy(dtype=float)
        spread = np.ptp(counts, axis=1) > 0  # equal counts have no spread: skewness 0, not NaN
        skew = np.zeros(len(counts))
        with warnings.catch_warnings():  # scipy warns of lost precision for counts like 33/33/34; integer counts
            warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)  # of 100 votes lose none that matters
            skew[spread] = stats.skew(counts[spread], axis=1)
        table = table.assign(label_skewness=skew)
    return table

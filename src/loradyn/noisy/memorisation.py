"""Memorisation of noisy labels over training, from a run's training pass: the second study's claims (i) and (iii).

Claim (i): an adapter whose capacity exceeds the training set fits the wrong labels, one whose capacity falls short
fits clearly fewer. Claim (iii): clean items are learned (and stay learned) before noisy ones. Both are read from
the training-pass rows against the labels trained on (``mode == "inline"``, ``target == "noisy"``): one recording
per example per epoch, the prediction made when the example was presented (before that batch's update).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loradyn.errors import DataError
from loradyn.metrics.curves import first_learned, learned
from loradyn.noisy.rows import trained_rows


def _presentations(dynamics: pd.DataFrame, is_noisy: pd.Series) -> pd.DataFrame:
    rows = trained_rows(dynamics)
    rows = rows[(rows["mode"] == "inline") & rows["example_id"].isin(is_noisy.index)]
    if rows.empty:
        raise DataError(
            "no training-pass rows for the scored examples",
            field="record_inline",
            fix="train with record_inline: true (the default) and noise_rate > 0",
        )
    return rows.assign(fits=learned(rows["pred"], rows["label"]), is_noisy=rows["example_id"].map(is_noisy))


def memorisation_curve(dynamics: pd.DataFrame, is_noisy: pd.Series) -> pd.DataFrame:
    """Per epoch of the training pass, the share of noisy items predicted as their (wrong) training label
    (``noisy_fit``) and of clean items predicted as their label (``clean_fit``).

    Parameters
    ----------
    dynamics
        A run's dynamics, recorded against the noisy labels (``record_labels`` ``noisy`` or ``both``).
    is_noisy
        Whether each training example's label was flipped, indexed by example id (``examples.parquet``).

    Returns
    -------
    DataFrame
        ``epoch`` (1-based, the pass the recording belongs to), ``noisy_fit``, ``clean_fit``, ``n_noisy``,
        ``n_clean``; NaN where a group is empty.
    """
    rows = _presentations(dynamics, is_noisy)
    rows = rows.assign(epoch=np.floor(rows["epoch"]).astype(int) + 1)
    grouped = rows.groupby(["epoch", "is_noisy"])["fits"]
    share = grouped.mean().unstack().reindex(columns=[True, False])
    size = grouped.size().unstack().reindex(columns=[True, False]).fillna(0).astype(int)
    return pd.DataFrame(
        {
            "epoch": share.index.to_numpy(),
            "noisy_fit": share[True].to_numpy(dtype=float),
            "clean_fit": share[False].to_numpy(dtype=float),
            "n_noisy": size[True].to_numpy(),
            "n_clean": size[False].to_numpy(),
        }
    )


def stays_learned(dynamics: pd.DataFrame, is_noisy: pd.Series) -> pd.DataFrame:
    """Per training example, the optimizer step from which it stays fitted to its training label in the training
    pass (`loradyn.metrics.curves.first_learned`; NaN if it is not fitted at its last presentation), with
    ``is_noisy``: claim (iii)'s temporal separation is the gap between the clean and the noisy items' steps."""
    rows = _presentations(dynamics, is_noisy)
    rows = rows.assign(epoch=np.floor(rows["epoch"]).astype(int))
    # one presentation per example per epoch, each at its own step: compare epochs, report the step presented
    fits = rows.pivot_table(index="example_id", columns="epoch", values="fits", aggfunc="last").astype(float)
    presented = rows.pivot_table(index="example_id", columns="epoch", values="step", aggfunc="last")
    epoch = first_learned(fits.to_numpy(), fits.columns.to_numpy(dtype=float))
    column = np.searchsorted(fits.columns.to_numpy(), np.nan_to_num(epoch)).clip(0, fits.shape[1] - 1)
    step = np.where(np.isnan(epoch), np.nan, presented.to_numpy(dtype=float)[np.arange(len(fits)), column])
    return pd.DataFrame({"step": step, "is_noisy": fits.index.map(is_noisy).to_numpy(dtype=bool)}, index=fits.index)


def separation(dynamics: pd.DataFrame, is_noisy: pd.Series) -> dict[str, float]:
    """Claim (iii) in numbers: the median step from which clean and noisy items stay fitted to their training
    labels (over those that do), and the share of each group that never does by the end."""
    learned_at = stays_learned(dynamics, is_noisy)
    out: dict[str, float] = {}
    for flag, name in ((False, "clean"), (True, "noisy")):
        steps = learned_at.loc[learned_at["is_noisy"] == flag, "step"]
        out[f"{name}_median_step"] = float(steps.median()) if steps.notna().any() else float("nan")
        out[f"{name}_never"] = float(steps.isna().mean()) if len(steps) else float("nan")
    return out

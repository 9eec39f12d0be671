"""Single-run noisy-label detectors people already use, as scores of recorded dynamics.

Every function takes one run's dynamics (rows of the store; only those against the labels trained on,
``target == "noisy"``, are read) and the example ids to score, shape ``(N,)``, and returns scores ``(N,)`` in the
order of ``ids``, where a larger score means more likely noisy. Rank discrepancy (RACT), which compares two runs, is
in `loradyn.noisy.ract`; confident learning, which reads out-of-sample probabilities, in `loradyn.noisy.confident`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from loradyn.metrics.curves import checkpoint_matrices, forgetting_events, learned
from loradyn.metrics.datamap import data_map
from loradyn.metrics.margins import aum
from loradyn.noisy.rows import AXIS, Source, aligned, final_rows, resolve_source, select_rows

REDUCTIONS = ("mean", "final")


def small_loss(
    dynamics: pd.DataFrame,
    ids: Sequence[str] | np.ndarray,
    *,
    reduce: Literal["mean", "final"] = "mean",
    source: Source = "auto",
) -> np.ndarray:
    """The small-loss criterion: noisy labels are fitted late, so their loss stays high.

    Parameters
    ----------
    dynamics
        One run's rows of the store.
    ids
        ``(N,)`` example ids to score.
    reduce
        ``"mean"``: the mean loss over every recording (the first study's AULC, over probes; over presentations in
        the training pass). ``"final"``: the loss at the last recording, which memorisation drives down for noisy
        items of a run that can fit them.
    source
        ``"probe"`` (eval-mode checkpoints), ``"inline"`` (the training pass), or ``"auto"``: probes when they
        cover every id, else the training pass.

    Returns
    -------
    (N,) float
        The loss (nats).
    """
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {', '.join(REDUCTIONS)}, got {reduce!r}")
    rows = select_rows(dynamics, ids, source=resolve_source([dynamics], ids, source))
    if reduce == "final":
        rows = final_rows(rows)
    return aligned(rows.groupby("example_id")["loss"].mean(), ids)


def aum_score(dynamics: pd.DataFrame, ids: Sequence[str] | np.ndarray) -> np.ndarray:
    """Minus the area under the margin (Pleiss et al., 2020): the mean training-pass margin of the assigned label
    over the largest other logit (`loradyn.metrics.margins.aum`); mislabelled items keep a low, often negative,
    margin. Reads inline rows only, as AUM is defined on the training pass. Returns ``(N,)``: ``-AUM``."""
    return -aligned(aum(select_rows(dynamics, ids, source="inline")), ids)


def datamap_confidence(dynamics: pd.DataFrame, ids: Sequence[str] | np.ndarray) -> np.ndarray:
    """Minus Dataset Cartography's confidence (Swayamdipta et al., 2020): the mean over epochs of p(label) in the
    training pass (`loradyn.metrics.datamap.data_map` of inline rows, one column per epoch); mislabelled items
    sit in the hard-to-learn, low-confidence region. Returns ``(N,)``: ``-confidence``."""
    rows = select_rows(dynamics, ids, source="inline")
    rows = rows.assign(correct=learned(rows["pred"], rows["label"]))
    row_ids, _, (p_gold, correct) = checkpoint_matrices(rows, ("p_gold", "correct"), by=AXIS["inline"])
    confidence = data_map(p_gold, correct)["confidence"].set_axis(row_ids)
    return -aligned(confidence, ids)


def forgetting_score(dynamics: pd.DataFrame, ids: Sequence[str] | np.ndarray) -> np.ndarray:
    """Forgetting events (Toneva et al., 2019): learned -> not learned transitions over an example's
    presentations in the training pass (inline rows, one per epoch; learned means the argmax prediction is the
    label, `loradyn.metrics.curves.learned`).

    Returns
    -------
    (N,) float
        The number of events; an example never learned gets the number of presentations ``T``, more than any
        count can reach (at most ``T // 2``), so it ranks most suspicious, as Toneva et al. rank it, while the
        score stays finite for AUROC and thresholds.
    """
    rows = select_rows(dynamics, ids, source="inline")
    rows = rows.assign(correct=learned(rows["pred"], rows["label"]))
    row_ids, epochs, (correct,) = checkpoint_matrices(rows, ("correct",), by=AXIS["inline"])
    events = forgetting_events(correct, never_learned=float(len(epochs)))
    return aligned(pd.Series(events, index=row_ids), ids)


def prediction_disagreement(
    dynamics: pd.DataFrame, ids: Sequence[str] | np.ndarray, *, source: Source = "auto"
) -> np.ndarray:
    """The trivial baseline: the final prediction is not the given label.

    Returns
    -------
    (N,) float
        ``1 + s`` where the last recording's argmax prediction differs from the label, else ``s``, with
        ``s = loss / (1 + loss)`` in ``[0, 1)`` from the final loss: every disagreement ranks above every
        agreement, and within each group a higher final loss ranks higher. ``score >= 1`` is the flag.
    """
    rows = final_rows(select_rows(dynamics, ids, source=resolve_source([dynamics], ids, source)))
    loss = rows["loss"].to_numpy(dtype=float)
    score = (~learned(rows["pred"], rows["label"])).astype(float) + loss / (1 + loss)
    return aligned(pd.Series(score, index=rows["example_id"].to_numpy()), ids)

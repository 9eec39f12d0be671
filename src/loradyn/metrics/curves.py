"""Learning-curve metrics of each example, from its probe losses across checkpoints.

Every function takes arrays of shape ``(N, T)``: ``N`` examples, ``T`` checkpoints in step order (see
`loss_matrix`), and returns one value per example, shape ``(N,)``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd


def loss_matrix(dynamics: pd.DataFrame, *, value: str = "loss") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pivot probe rows into ``(example_ids (N,), steps (T,), values (N, T))``, ids sorted, checkpoints in step
    order. Rows must come from one label target; missing cells are NaN."""
    ids, steps, (values,) = checkpoint_matrices(dynamics, (value,))
    return ids, steps, values


def checkpoint_matrices(
    dynamics: pd.DataFrame, columns: tuple[str, ...], *, by: str = "step"
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Like `loss_matrix`, for several columns at once (one pass over the rows); ``by="epoch"`` pivots inline
    rows, where each example appears once per epoch."""
    row, ids = pd.factorize(dynamics["example_id"], sort=True)
    steps, col = np.unique(dynamics[by].to_numpy(), return_inverse=True)
    ids = np.asarray(ids)
    matrices = []
    for column in columns:
        matrix = np.full((len(ids), len(steps)), np.nan)
        matrix[row, col] = dynamics[column].to_numpy(dtype=float)
        matrices.append(matrix)
    return ids, steps, matrices


def aulc(
    losses: np.ndarray, steps: np.ndarray | None = None, *, method: Literal["mean", "trapezoid"] = "mean"
) -> np.ndarray:
    """Area under the loss curve.

    ``"mean"`` (the default, the first study's definition): the mean loss over all checkpoints. ``"trapezoid"``:
    the step-weighted trapezoid area divided by the steps spanned, so both are on the loss scale. NaN checkpoints
    are dropped; an example with fewer than 2 recorded checkpoints gets NaN.
    """
    losses = np.asarray(losses, dtype=float)
    finite = np.isfinite(losses)
    enough = finite.sum(axis=1) >= 2
    if method == "mean":
        total = np.where(finite, losses, 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(enough, total / finite.sum(axis=1), np.nan)
    if method != "trapezoid":
        raise ValueError(f"method must be 'mean' or 'trapezoid', got {method!r}")
    if steps is None:
        raise ValueError("the trapezoid AULC needs the checkpoints' steps")
    steps = np.asarray(steps, dtype=float)
    if finite.all():  # the usual case, vectorised
        return np.trapezoid(losses, steps, axis=1) / (steps[-1] - steps[0])
    out = np.full(len(losses), np.nan)
    for i in np.flatnonzero(enough):
        x, y = steps[finite[i]], losses[i, finite[i]]
        out[i] = np.trapezoid(y, x) / (x[-1] - x[0]) if x[-1] > x[0] else np.nan
    return out


def delta_loss(losses: np.ndarray) -> np.ndarray:
    """Final minus initial loss: positive values are un-learning (the first study's measure)."""
    losses = np.asarray(losses, dtype=float)
    return losses[:, -1] - losses[:, 0]


def late_unlearning(
    losses: np.ndarray,
    steps: np.ndarray | None = None,
    *,
    kind: Literal["final_minus_min", "slope"] = "final_minus_min",
    window: float = 0.5,
) -> np.ndarray:
    """Un-learning late in training: ``final - min`` loss (>= 0; how far an item climbed back from its best), or
    the least-squares ``slope`` of the loss over the last ``window`` share of the checkpoints (per step)."""
    losses = np.asarray(losses, dtype=float)
    if kind == "final_minus_min":
        return losses[:, -1] - np.nanmin(losses, axis=1)
    if kind != "slope":
        raise ValueError(f"kind must be 'final_minus_min' or 'slope', got {kind!r}")
    if not 0 < window <= 1:
        raise ValueError(f"window must be in (0, 1], got {window}")
    start = min(losses.shape[1] - 2, int(np.floor(losses.shape[1] * (1 - window))))
    return loss_slope(losses[:, start:], None if steps is None else np.asarray(steps)[start:])


def loss_slope(losses: np.ndarray, steps: np.ndarray | None = None) -> np.ndarray:
    """Least-squares slope of loss against step (per step; per checkpoint when ``steps`` is None)."""
    losses = np.asarray(losses, dtype=float)
    x = np.arange(losses.shape[1], dtype=float) if steps is None else np.asarray(steps, dtype=float)
    x = x - x.mean()
    y = losses - losses.mean(axis=1, keepdims=True)
    return (y @ x) / (x @ x)


def first_learned(p_gold: np.ndarray, *, threshold: float = 0.5) -> np.ndarray:
    """Index of the first checkpoint from which ``p_gold > threshold`` holds to the end; -1 if never learned.

    An item learned, forgotten and learned again counts from its last learning.
    """
    learned = np.asarray(p_gold, dtype=float) > threshold
    stays = np.flip(np.logical_and.accumulate(np.flip(learned, axis=1), axis=1), axis=1)
    return np.where(stays.any(axis=1), np.argmax(stays, axis=1), -1)


def forgetting_events(correct: np.ndarray, *, never_learned: float = np.inf) -> np.ndarray:
    """Number of learned -> forgotten transitions (correct at one checkpoint, wrong at the next), as in Toneva et
    al. (2019). Items never predicted correctly get ``never_learned``: infinity by default, as Toneva et al. rank
    them (most forgettable); pass 0 to count them as never forgotten, as some follow-ups do."""
    correct = np.asarray(correct, dtype=bool)
    events = np.sum(correct[:, :-1] & ~correct[:, 1:], axis=1).astype(float)
    return np.where(correct.any(axis=1), events, never_learned)

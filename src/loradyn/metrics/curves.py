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
    """Area under the loss curve of each example, shape ``(N,)`` (a float for one curve of shape ``(T,)``).

    ``"mean"`` (the default, the first study's definition): the mean loss over all checkpoints. ``"trapezoid"``:
    the step-weighted trapezoid area divided by the steps spanned, so both are on the loss scale. NaN checkpoints
    are dropped; an example with fewer than 2 recorded checkpoints gets NaN.
    """
    losses = np.asarray(losses, dtype=float)
    if losses.ndim == 1:  # one example's curve
        return float(aulc(losses[None, :], steps, method=method)[0])
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
        return losses[:, -1] - np.where(np.isfinite(losses), losses, np.inf).min(axis=1)
    if kind != "slope":
        raise ValueError(f"kind must be 'final_minus_min' or 'slope', got {kind!r}")
    if not 0 < window <= 1:
        raise ValueError(f"window must be in (0, 1], got {window}")
    start = min(losses.shape[1] - 2, int(np.floor(losses.shape[1] * (1 - window))))
    return loss_slope(losses[:, start:], None if steps is None else np.asarray(steps)[start:])


def loss_slope(losses: np.ndarray, steps: np.ndarray | None = None) -> np.ndarray:
    """Least-squares slope of loss against step (per step; per checkpoint when ``steps`` is None), over each
    example's finite checkpoints; NaN with fewer than 2."""
    losses = np.asarray(losses, dtype=float)
    x = np.arange(losses.shape[1], dtype=float) if steps is None else np.asarray(steps, dtype=float)
    w = np.isfinite(losses)
    y = np.where(w, losses, 0.0)
    n = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        x_mean = (w * x).sum(axis=1) / n
        y_mean = y.sum(axis=1) / n
        dx = np.where(w, x - x_mean[:, None], 0.0)
        return np.where(n >= 2, (dx * (y - y_mean[:, None])).sum(axis=1) / (dx**2).sum(axis=1), np.nan)


def learned(pred: np.ndarray, label: np.ndarray) -> np.ndarray:
    """Whether an example counts as learned in a recording: its argmax prediction is its label.

    loradyn's one rule of "learned", behind `first_learned`, `learned_then_lost`, `forgetting_events` and the data
    map's correctness, as Toneva et al. (2019) and Swayamdipta et al. (2020) define it (``p_gold > 0.5`` is stricter
    for three or more classes and is not used). Element-wise over rows of the store.
    """
    return np.asarray(pred) == np.asarray(label)


#: The first study's loss threshold for "learned" in its threshold learning time (``--loss-threshold``, ln 2).
LOSS_THRESHOLD = 0.693


def threshold_learning_time(losses: np.ndarray, steps: np.ndarray, *, threshold: float = LOSS_THRESHOLD) -> np.ndarray:
    """The step of the first checkpoint whose loss is below ``threshold`` (the first crossing, as the first study's
    ``TemporalTracker.get_learning_time`` takes it, not the step from which it stays below); NaN if the loss never
    falls below it (the study leaves those items out). ``losses`` ``(N, T)``, ``steps`` ``(T,)``; returns ``(N,)``."""
    below = np.asarray(losses, dtype=float) < threshold  # a missing cell (NaN) is not below
    return np.where(below.any(axis=1), np.asarray(steps, dtype=float)[np.argmax(below, axis=1)], np.nan)


def _observed(correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Missing cells (NaN) carry the last observed state forward, so transitions are counted between observed
    checkpoints; cells before the first observation count as not learned. Also returns which rows have any
    observation."""
    correct = np.asarray(correct, dtype=float)
    seen = ~np.isnan(correct)
    filled = pd.DataFrame(correct).ffill(axis=1).fillna(0.0).to_numpy() == 1
    return filled, seen.any(axis=1)


def first_learned(correct: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """The step from which each example stays learned to the end (`learned` at every later observed checkpoint);
    NaN if it is not learned at the end. An item learned, forgotten and learned again counts from its last
    learning. ``correct`` is ``(N, T)`` (see `learned`), ``steps`` ``(T,)``; returns ``(N,)`` steps (float)."""
    filled, seen = _observed(correct)
    stays = np.flip(np.logical_and.accumulate(np.flip(filled, axis=1), axis=1), axis=1)
    first = np.asarray(steps, dtype=float)[np.argmax(stays, axis=1)]
    return np.where(stays.any(axis=1) & seen, first, np.nan)


def learned_then_lost(correct: np.ndarray) -> np.ndarray:
    """Learned at some checkpoint but not at the last one: un-learning of what was once learned, unlike the first
    study's delta loss, which is positive for items that were never learned. Pass only trained checkpoints (not
    the probe at step 0). ``correct`` ``(N, T)``; returns ``(N,)`` float 1/0, NaN where nothing was observed."""
    filled, seen = _observed(correct)
    return np.where(seen, (filled.any(axis=1) & ~filled[:, -1]).astype(float), np.nan)


def forgetting_events(correct: np.ndarray, *, never_learned: float = np.inf) -> np.ndarray:
    """Number of learned -> forgotten transitions (learned at one observation, not at the next), as in Toneva et
    al. (2019), who count them over an example's presentations in the training pass (inline rows; for probes,
    start at the first trained checkpoint, not at step 0). Items never learned get ``never_learned``: infinity by
    default, as Toneva et al. rank them (most forgettable); pass 0 to count them as never forgotten, as some
    follow-ups do. ``correct`` ``(N, T)`` (see `learned`; missing cells are skipped); returns ``(N,)``."""
    filled, seen = _observed(correct)
    events = np.sum(filled[:, :-1] & ~filled[:, 1:], axis=1).astype(float)
    return np.where(seen, np.where(filled.any(axis=1), events, never_learned), np.nan)

"""Learning-curve metrics of each example, from its probe losses across checkpoints."""

from __future__ import annotations

import numpy as np
import pandas as pd


def loss_matrix(dynamics: pd.DataFrame, *, value: str = "loss") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pivot probe rows into ``(example_ids (N,), steps (T,), values (N, T))``, checkpoints in step order.

    Rows must come from one label target; missing cells are NaN.
    """
    table = dynamics.pivot_table(index="example_id", columns="step", values=value, aggfunc="first", sort=True)
    return table.index.to_numpy(), table.columns.to_numpy(), table.to_numpy(dtype=float)


def aulc(losses: np.ndarray) -> np.ndarray:
    """Area under the loss curve, shape ``(N,)`` from ``(N, T)``: the mean loss over all checkpoints, as in the
    first study. NaN checkpoints are dropped; an example with fewer than 2 recorded checkpoints gets NaN."""
    losses = np.asarray(losses, dtype=float)
    counts = np.sum(np.isfinite(losses), axis=1)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(np.where(np.isfinite(losses), losses, np.nan), axis=1) if losses.size else np.array([])
    return np.where(counts >= 2, mean, np.nan)


def delta_loss(losses: np.ndarray) -> np.ndarray:
    """Final minus initial loss, shape ``(N,)``: positive values are un-learning (the first study's measure)."""
    losses = np.asarray(losses, dtype=float)
    return losses[:, -1] - losses[:, 0]

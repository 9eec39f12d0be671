"""RACT's detector (Rank-Aware Curriculum Training, the second study): rank discrepancy, the loss of a low-rank
adapter minus that of a high-rank one trained on the same noisy labels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from loradyn.errors import DataError
from loradyn.noisy.rows import Source, aligned, resolve_source, select_rows, some

#: The second half of training. Clean patterns are learned early by both adapters, so there the two losses agree
#: and their difference is noise; noisy labels are memorised late and only by the high-rank adapter (a rank-r
#: adapter cannot fit arbitrary labels beyond O(r(d+k-r)) examples), so the gap opens in the second half and is
#: widest at the end. Averaging the whole second half, rather than reading the final checkpoint alone, keeps that
#: gap while smoothing checkpoint-to-checkpoint noise. loradyn's choice, not the study's: its summary names no window.
DEFAULT_WINDOW = (0.5, 1.0)


def rank_discrepancy(
    low: pd.DataFrame,
    high: pd.DataFrame,
    ids: Sequence[str] | np.ndarray,
    *,
    window: tuple[float, float] = DEFAULT_WINDOW,
    source: Source = "auto",
) -> np.ndarray:
    """Per example, the mean loss of the low-rank run minus that of the high-rank run, over a window of training.

    An example the high-rank adapter fits but the low-rank one does not (RACT's sign of a wrong label) gets a
    large positive score; one both fit, or neither, scores near zero.

    Parameters
    ----------
    low, high
        The dynamics of the low-rank (e.g. r = 4) and high-rank (e.g. r = 16) runs, trained on the same noisy
        labels; only rows against those labels (``target == "noisy"``) are read.
    ids
        ``(N,)`` example ids to score.
    window
        ``(start, end)`` as fractions of training progress, both included: a recording's progress is its step
        over the last step recorded in its run and source, so ``(0.5, 1.0)`` (the default, `DEFAULT_WINDOW`) is
        the second half of training. Each run averages its own recordings in the window.
    source
        ``"probe"``, ``"inline"``, or ``"auto"``: probes when both runs have them for every id, else the
        training pass of both.

    Returns
    -------
    (N,) float
        Loss difference (nats), low minus high.
    """
    check_window(window)
    source = resolve_source([low, high], ids, source)
    low_mean, high_mean = (_window_mean(frame, ids, window, source) for frame in (low, high))
    return low_mean - high_mean


def check_window(window: tuple[float, float]) -> None:
    """Raise unless ``window`` is ``(start, end)`` with ``0 <= start < end <= 1``."""
    if len(window) != 2 or not 0 <= window[0] < window[1] <= 1:
        raise DataError(
            f"window must be (start, end) with 0 <= start < end <= 1, got {window}",
            field="window",
            fix="give two shares of training, the start before the end, e.g. 0.5,1.0",
        )


def _window_mean(
    dynamics: pd.DataFrame, ids: Sequence[str] | np.ndarray, window: tuple[float, float], source: str
) -> np.ndarray:
    rows = select_rows(dynamics, ids, source=source)
    last = rows["step"].max()
    if last <= 0:
        raise DataError(
            f"the {source} rows span no training (last step {last})",
            field="step",
            fix="score a run that has trained, with recordings after step 0",
        )
    progress = rows["step"].to_numpy(dtype=float) / last
    inside = rows[(progress >= window[0]) & (progress <= window[1])]
    missing = np.setdiff1d(np.asarray(ids), inside["example_id"].unique())
    if len(missing):
        raise DataError(
            f"{len(missing)} example(s) have no {source} recording in the window {window}, e.g. {some(missing)}",
            field="step",
            fix="widen the window, or record more often (probe_every)",
        )
    return aligned(inside.groupby("example_id")["loss"].mean(), ids)

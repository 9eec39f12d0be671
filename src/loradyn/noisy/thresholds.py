"""From detector scores ``(N,)`` (larger = more likely noisy) to flags ``(N,)`` bool: at a known noise rate, by
a two-component Gaussian mixture, or at a threshold calibrated on a small trusted subset."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve
from sklearn.mixture import GaussianMixture

from loradyn.errors import DataError
from loradyn.noisy.rows import some


def flag_top_rate(scores: np.ndarray, *, rate: float) -> np.ndarray:
    """Flag the ``round(rate * N)`` highest scores: the noise rate is known, as when it was injected (the same
    count `loradyn.data.noise.inject_noise` flips). Ties at the cut go to the earlier position."""
    scores = _finite(scores)
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    flags = np.zeros(len(scores), dtype=bool)
    flags[np.argsort(-scores, kind="stable")[: round(rate * len(scores))]] = True
    return flags


def flag_gmm(scores: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Flag the mixture component with the larger mean, with no knowledge of the noise rate: a two-component
    Gaussian mixture (scikit-learn ``GaussianMixture``, ``random_state=seed``) fitted to the scores, as
    DivideMix-style methods split losses. Scores below the low component's mean are never flagged, even where a
    wider high component wins the far tail; constant scores show one population, and nothing is flagged."""
    scores = _finite(scores)
    if len(np.unique(scores)) < 2:
        return np.zeros(len(scores), dtype=bool)
    mixture = GaussianMixture(n_components=2, random_state=seed).fit(scores[:, None])
    means = mixture.means_.ravel()
    return (mixture.predict(scores[:, None]) == means.argmax()) & (scores > means.min())


def trusted_threshold(scores: np.ndarray, is_noisy: np.ndarray) -> float:
    """The threshold that maximises F1 of ``scores >= threshold`` on a trusted subset whose truth is known.

    Parameters
    ----------
    scores, is_noisy
        ``(M,)`` scores and ground truth of the trusted items.

    Returns
    -------
    float
        One of the trusted scores; among equally good ones, the highest (the fewest flags).
    """
    scores = _finite(scores)
    is_noisy = np.asarray(is_noisy, dtype=bool)
    if is_noisy.shape != scores.shape:
        raise ValueError(f"scores and is_noisy must both be (M,), got {scores.shape} and {is_noisy.shape}")
    if is_noisy.all() or not is_noisy.any():
        kind = "noisy" if not is_noisy.any() else "clean"
        raise DataError(
            f"the trusted subset ({len(scores)} items) has no {kind} item, so no threshold can be calibrated",
            field="trusted",
            fix="include at least one known-noisy and one known-clean example in the trusted subset",
        )
    precision, recall, thresholds = precision_recall_curve(is_noisy, scores)
    precision, recall = precision[:-1], recall[:-1]  # the last point is the empty flag set, with no threshold
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    best = np.flatnonzero(f1 == f1.max())[-1]  # thresholds increase: the last best is the highest
    return float(thresholds[best])


def flag_trusted(scores: np.ndarray, ids: Sequence[str] | np.ndarray, trusted: pd.Series) -> np.ndarray:
    """Flag ``scores >= trusted_threshold`` calibrated on the trusted items.

    Parameters
    ----------
    scores, ids
        ``(N,)`` scores and their example ids.
    trusted
        Ground truth of the trusted items: ``is_noisy`` (bool) indexed by example id; every id must be in ``ids``.
        The flags cover the trusted items too, so an evaluation over all ``ids`` includes what was calibrated on.
    """
    scores = _finite(scores)
    position = pd.Index(np.asarray(ids)).get_indexer(trusted.index)
    if (position < 0).any():
        raise DataError(
            f"{int((position < 0).sum())} trusted id(s) are not among the scored examples, "
            f"e.g. {some(trusted.index[position < 0])}",
            field="trusted",
            fix="choose the trusted subset among the scored examples",
        )
    return scores >= trusted_threshold(scores[position], trusted.to_numpy(dtype=bool))


def _finite(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 1:
        raise ValueError(f"scores must be (N,), got shape {scores.shape}")
    if not np.isfinite(scores).all():
        raise ValueError(f"{int((~np.isfinite(scores)).sum())} score(s) are NaN or infinite")
    return scores

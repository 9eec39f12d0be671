"""Calibration of predicted probabilities, overall or per group."""

from __future__ import annotations

import numpy as np


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, *, n_bins: int = 15) -> float:
    """ECE with ``n_bins`` equal-width confidence bins (15 by default, as Guo et al., 2017): the bin-size-weighted
    mean of |accuracy - confidence|. ``confidence`` (N,) is the top predicted probability, ``correct`` (N,) whether
    the top prediction was right; for probabilities ``probs`` (N, K) and labels, pass ``probs.max(1)`` and
    ``probs.argmax(1) == labels``."""
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=bool)
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    total = 0.0
    for b in np.unique(bins):
        members = bins == b
        total += members.sum() * abs(correct[members].mean() - confidence[members].mean())
    return float(total / len(confidence))


def prediction_entropy(probs: np.ndarray) -> np.ndarray:
    """Entropy of each predicted distribution in nats, shape (N,)."""
    probs = np.asarray(probs, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(np.where(probs > 0, probs * np.log(probs), 0.0), axis=1)

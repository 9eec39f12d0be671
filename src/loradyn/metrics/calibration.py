"""Calibration of predicted probabilities, overall or per group."""

from __future__ import annotations

import numpy as np


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, *, n_bins: int = 15) -> float:
    """ECE with ``n_bins`` equal-width confidence bins (15 by default, as Guo et al., 2017): the bin-size-weighted
    mean of |accuracy - confidence|. ``probs`` is (N, K), ``labels`` (N,)."""
    probs = np.asarray(probs, dtype=float)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(labels)
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    total = 0.0
    for b in np.unique(bins):
        members = bins == b
        total += members.sum() * abs(correct[members].mean() - confidence[members].mean())
    return total / len(probs)


def prediction_entropy(probs: np.ndarray) -> np.ndarray:
    """Entropy of each predicted distribution in nats, shape (N,)."""
    probs = np.asarray(probs, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(np.where(probs > 0, probs * np.log(probs), 0.0), axis=1)

"""Confident learning (Northcutt et al., 2021) through cleanlab, from out-of-sample predicted probabilities."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from cleanlab.filter import find_label_issues
from cleanlab.rank import get_label_quality_scores

FILTERS = ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given")
QUALITY_METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")


@dataclass(frozen=True)
class ConfidentLearning:
    """The result of `confident_learning`.

    Attributes
    ----------
    issues : (N,) bool
        cleanlab's label issues (``cleanlab.filter.find_label_issues``).
    scores : (N,) float
        ``1 - cleanlab.rank.get_label_quality_scores``: larger means more likely noisy.
    """

    issues: np.ndarray
    scores: np.ndarray


def confident_learning(
    pred_probs: np.ndarray,
    labels: np.ndarray,
    *,
    filter_by: str = "prune_by_noise_rate",
    method: str = "self_confidence",
    n_jobs: int = 1,
) -> ConfidentLearning:
    """Label issues and scores from cleanlab, unchanged.

    Parameters
    ----------
    pred_probs
        ``(N, K)`` out-of-sample predicted probabilities (each example scored by a model that did not train on
        it, e.g. the held-out folds of `loradyn.experiments.kfold.write_oof`); rows sum to 1.
    labels
        ``(N,)`` the noisy labels trained on, in ``[0, K)``.
    filter_by, method
        cleanlab's own defaults: ``find_label_issues(filter_by=...)`` and
        ``get_label_quality_scores(method=...)``.
    n_jobs
        cleanlab's worker processes; 1 (cleanlab's default is every core) keeps a run deterministic and light
        beside training.
    """
    if filter_by not in FILTERS:
        raise ValueError(f"filter_by must be one of {', '.join(FILTERS)}, got {filter_by!r}")
    if method not in QUALITY_METHODS:
        raise ValueError(f"method must be one of {', '.join(QUALITY_METHODS)}, got {method!r}")
    pred_probs = np.asarray(pred_probs, dtype=float)
    labels = np.asarray(labels, dtype=int)
    if pred_probs.ndim != 2 or labels.shape != (len(pred_probs),):
        raise ValueError(f"pred_probs must be (N, K) and labels (N,), got {pred_probs.shape} and {labels.shape}")
    issues = find_label_issues(labels, pred_probs, filter_by=filter_by, n_jobs=n_jobs)
    quality = get_label_quality_scores(labels, pred_probs, method=method)
    return ConfidentLearning(issues=np.asarray(issues, dtype=bool), scores=1 - np.asarray(quality, dtype=float))

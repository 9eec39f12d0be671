"""Annotation statistics from per-item vote counts: entropy, soft labels, majority, categories, the 80/20 split.

All functions take a vote-count matrix ``counts`` of shape ``(N, K)``: row ``i`` holds how many annotators gave
item ``i`` each of the ``K`` classes, in the dataset's class order (ChaosNLI: entailment, neutral, contradiction).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from loradyn.errors import DataError

#: Category thresholds on annotation entropy in nats, as in the first study: clean H < 0.4,
#: ambiguous 0.4 <= H < 0.7, contested H >= 0.7.
CATEGORY_THRESHOLDS = (0.4, 0.7)
CATEGORIES = ("clean", "ambiguous", "contested")


def _as_counts(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or counts.shape[1] < 2:
        raise ValueError(f"counts must have shape (N, K) with K >= 2, got {counts.shape}")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        bad = int(np.flatnonzero(~np.isfinite(counts).all(1) | (counts < 0).any(1))[0])
        raise ValueError(f"counts row {bad} has a negative or non-finite entry: {counts[bad].tolist()}")
    totals = counts.sum(axis=1)
    if np.any(totals == 0):
        raise ValueError(f"counts row {int(np.flatnonzero(totals == 0)[0])} sums to zero: no annotations")
    return counts


def soft_labels(counts: np.ndarray) -> np.ndarray:
    """Share of votes per class, shape ``(N, K)``; each row sums to 1."""
    counts = _as_counts(counts)
    return counts / counts.sum(axis=1, keepdims=True)


def annotation_entropy(counts: np.ndarray, *, unit: Literal["nats", "bits"] = "nats") -> np.ndarray:
    """Shannon entropy of each item's vote distribution, shape ``(N,)``.

    Nats by default, as in the first study; ``unit="bits"`` gives base 2 (ChaosNLI's own ``entropy`` field is in
    bits, which is why loradyn never reads that field as nats). Empty classes contribute 0 (0 log 0 = 0).
    """
    if unit not in ("nats", "bits"):
        raise ValueError(f"unit must be 'nats' or 'bits', got {unit!r}")
    p = soft_labels(counts)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    entropy = -terms.sum(axis=1)
    return entropy / np.log(2) if unit == "bits" else entropy


def majority_label(counts: np.ndarray) -> np.ndarray:
    """Index of the most voted class, shape ``(N,)``.

    Tie rule: the first of the tied classes in the dataset's class order wins (``argmax``), which is what the
    first study does; for ChaosNLI that order is entailment, neutral, contradiction.
    """
    return np.argmax(_as_counts(counts), axis=1)


def majority_confidence(counts: np.ndarray) -> np.ndarray:
    """Share of votes for the most voted class, shape ``(N,)``, in ``[1/K, 1]``."""
    return soft_labels(counts).max(axis=1)


def runner_up_label(counts: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The most voted class other than ``labels[i]`` for each item, shape ``(N,)``; ties go to class order."""
    counts = _as_counts(counts).copy()
    labels = np.asarray(labels, dtype=int)
    counts[np.arange(len(counts)), labels] = -np.inf
    return np.argmax(counts, axis=1)


def category_thresholds(n_classes: int) -> tuple[float, float]:
    """The category thresholds for ``n_classes`` classes: the first study's 0.4 and 0.7 nats (for 3 classes)
    scaled by ``ln K / ln 3``, as it scales them for two-class alphaNLI (0.252 and 0.442)."""
    scale = np.log(n_classes) / np.log(3)
    return (CATEGORY_THRESHOLDS[0] * scale, CATEGORY_THRESHOLDS[1] * scale)


def category_code(entropy: np.ndarray, *, thresholds: tuple[float, float] = CATEGORY_THRESHOLDS) -> np.ndarray:
    """Integer entropy categories, shape ``(N,)``: 0 clean (H < low), 1 ambiguous, 2 contested (H >= high), as the
    first study's ``np.digitize(entropy, [0.4, 0.7])``; an item exactly on a threshold goes up."""
    low, high = thresholds
    if not low < high:
        raise ValueError(f"thresholds must be increasing, got {thresholds}")
    return np.searchsorted(np.asarray([low, high]), np.asarray(entropy, dtype=float), side="right")


def entropy_category(entropy: np.ndarray, *, thresholds: tuple[float, float] = CATEGORY_THRESHOLDS) -> np.ndarray:
    """Map entropies (nats) to ``"clean"``, ``"ambiguous"`` or ``"contested"``, shape ``(N,)`` (see
    `category_code`; the default thresholds are the first study's, 0.4 and 0.7 nats)."""
    return np.asarray(CATEGORIES, dtype=object)[category_code(entropy, thresholds=thresholds)]


def stratified_split(
    strata: np.ndarray, *, test_size: float = 0.2, seed: int = 42, names: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Split item positions into train and held-out parts, stratified by ``strata``.

    The first study's split: scikit-learn ``StratifiedShuffleSplit`` with one split, ``test_size=0.2`` and
    ``random_state=42`` over the *integer* category codes (`category_code`; string names sort differently and give
    another split), giving 1,211/303 ChaosNLI-SNLI and 1,279/320 ChaosNLI-MNLI items. Returns ``(train, test)``
    position arrays in the order scikit-learn gives them, which is the first study's tracked order (its noise
    injection draws from it). ``names``: what each integer stratum is called, for an error.
    """
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    strata = np.asarray(strata)
    values, sizes = np.unique(strata, return_counts=True)
    if sizes.min() < 2:
        smallest = values[sizes.argmin()].item()
        smallest = names[smallest] if names is not None else smallest
        raise DataError(
            f"a stratified split needs at least 2 items per stratum; {smallest!r} has {sizes.min()}",
            field="split",
            fix="give at least 2 items of every entropy category (a file of a few items cannot be split 80/20)",
        )
    from sklearn.model_selection import StratifiedShuffleSplit

    splitter = StratifiedShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    return next(splitter.split(np.zeros(len(strata)), strata))

"""Planning K folds for out-of-sample probabilities (confident learning); training them is done elsewhere."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import StratifiedKFold

from loradyn.errors import DataError


def kfold_splits(
    ids: Sequence[str] | np.ndarray, labels: Sequence[int] | np.ndarray, *, k: int = 5, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds over ``ids`` by their (noisy) ``labels``, both ``(N,)``.

    ``k=5`` is cleanlab's own default (``cv_n_folds``). The folds come from scikit-learn's ``StratifiedKFold``
    with ``shuffle=True, random_state=seed``, so the same seed gives the same plan.

    Returns
    -------
    list of ``k`` pairs ``(train_ids, heldout_ids)``
        Each id is held out exactly once; a fold's model trains on ``train_ids`` and scores ``heldout_ids``.
    """
    ids, labels = np.asarray(ids), np.asarray(labels)
    if not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"k must be an integer of at least 2, got {k!r}")
    if ids.shape != labels.shape or ids.ndim != 1:
        raise ValueError(f"ids and labels must both be (N,), got {ids.shape} and {labels.shape}")
    if len(np.unique(ids)) != len(ids):
        raise DataError("example ids repeat", field="example_id", fix="pass each example once")
    if len(ids) < k:
        raise DataError(
            f"{len(ids)} items are fewer than the {k} folds",
            field="k",
            fix=f"use k <= {len(ids)}, or plan folds over more items",
        )
    classes, counts = np.unique(labels, return_counts=True)
    if counts.min() < k:
        raise DataError(
            f"class {classes[counts.argmin()]} has {counts.min()} item(s), fewer than the {k} folds",
            field="label",
            fix=f"use k <= {counts.min()}, or plan folds over more items of every class",
        )
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(ids[train], ids[heldout]) for train, heldout in splitter.split(np.zeros(len(ids)), labels)]

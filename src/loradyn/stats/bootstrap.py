"""A vectorised, seeded percentile bootstrap over items for rank correlations.

Each resample is held as a multiplicity vector (how often each of the ``N`` items was drawn), so the Spearman
correlation of a resample is a weighted Pearson correlation of the items' ranks *within that resample* (ties,
including the copies an item gets, take their average rank, exactly as re-ranking the resampled data would). No
resample is materialised or sorted: ranks come from cumulative sums of the multiplicities in value order.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import cached_property

import numpy as np

CHUNK = 1000  # resamples processed at a time: bounds memory at CHUNK x N doubles per array
RANK_CACHE = 4  # ranked arrays kept (each n_resamples x N doubles): two threads, a metric and entropy each


class Bootstrap:
    """``n_resamples`` resamples of ``n`` items, drawn once from ``seed`` and reusable across statistics, so that
    correlations of several metrics with the same items are compared on the same resamples."""

    def __init__(self, n: int, *, n_resamples: int = 10_000, seed: int = 0) -> None:
        if n < 3:
            raise ValueError(f"a bootstrap needs at least 3 items, got {n}")
        if n_resamples < 1:
            raise ValueError(f"n_resamples must be positive, got {n_resamples}")
        self.n, self.n_resamples, self.seed = n, n_resamples, seed
        self._ranks: OrderedDict[bytes, np.ndarray] = OrderedDict()  # recent ranks: entropy is ranked once
        self._lock = threading.Lock()

    @cached_property
    def counts(self) -> np.ndarray:
        """Multiplicities, shape ``(n_resamples, n)``: row ``b`` says how often each item is in resample ``b``."""
        rng = np.random.default_rng(self.seed)
        draws = rng.integers(0, self.n, size=(self.n_resamples, self.n))
        offsets = (np.arange(self.n_resamples) * self.n)[:, None]
        return (
            np.bincount((draws + offsets).ravel(), minlength=self.n_resamples * self.n)
            .reshape(self.n_resamples, self.n)
            .astype(np.float64)
        )

    def centred_ranks(self, values: np.ndarray) -> np.ndarray:
        """Average ranks of each item within each resample, minus their resample mean ``(n + 1) / 2``;
        shape ``(n_resamples, n)``."""
        values = np.asarray(values, dtype=float)
        if values.shape != (self.n,):
            raise ValueError(f"expected {self.n} values, got shape {values.shape}")
        key = values.tobytes()
        with self._lock:
            ranks = self._ranks.pop(key, None)
        if ranks is None:
            ranks = self._centred_ranks(values)
        with self._lock:
            self._ranks[key] = ranks
            while len(self._ranks) > RANK_CACHE:
                self._ranks.popitem(last=False)
        return ranks

    def _centred_ranks(self, values: np.ndarray) -> np.ndarray:
        order = np.argsort(values, kind="stable")
        ordered = values[order]
        new_group = np.r_[True, ordered[1:] != ordered[:-1]]
        ties = not new_group.all()
        starts = np.flatnonzero(new_group)
        # where each item's (tie group's) rank sits in the per-group array
        position = np.empty(self.n, dtype=np.int64)
        position[order] = np.cumsum(new_group) - 1 if ties else np.arange(self.n)
        out = np.empty((self.n_resamples, self.n))
        for lo in range(0, self.n_resamples, CHUNK):
            per_group = np.take(self.counts[lo : lo + CHUNK], order, axis=1)
            if ties:
                per_group = np.add.reduceat(per_group, starts, axis=1)
            ranks = np.cumsum(per_group, axis=1) - (per_group - 1) / 2 - (self.n + 1) / 2
            out[lo : lo + CHUNK] = np.take(ranks, position, axis=1)
        return out

    def spearman(self, x_ranks: np.ndarray, y_ranks: np.ndarray) -> np.ndarray:
        """Spearman correlation in every resample, shape ``(n_resamples,)``, from `centred_ranks` of x and y."""
        out = np.empty(self.n_resamples)
        for lo in range(0, self.n_resamples, CHUNK):
            w = self.counts[lo : lo + CHUNK]
            x, y = x_ranks[lo : lo + CHUNK], y_ranks[lo : lo + CHUNK]
            wx = w * x
            with np.errstate(invalid="ignore", divide="ignore"):
                out[lo : lo + CHUNK] = np.einsum("ij,ij->i", wx, y) / np.sqrt(
                    np.einsum("ij,ij->i", wx, x) * np.einsum("ij,ij->i", w * y, y)
                )
        return out


def percentile_interval(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    """The percentile bootstrap interval; resamples whose statistic is undefined (NaN) are left out."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    alpha = (1 - confidence) / 2
    low, high = np.nanquantile(replicates, [alpha, 1 - alpha])
    return float(low), float(high)

"""A vectorised, seeded percentile bootstrap over items for rank correlations.

Each resample is held as a multiplicity vector (how often each of the ``N`` items was drawn), so the Spearman
correlation of a resample is a weighted Pearson correlation of the items' ranks *within that resample* (ties,
including the copies an item gets, take their average rank, exactly as re-ranking the resampled data would). No
resample is materialised or sorted: ranks come from cumulative sums of the multiplicities in value order.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

CHUNK = 250  # resamples processed at a time: a few MB per array at N ~ 1,000, so they stay in cache
#: Multiplicities and ranks are small integers and half-integers, exact in float32; sums of their products carry
#: a relative rounding error of about 1e-6, far below the Monte-Carlo error of any interval, at half the memory
#: traffic of float64.
DTYPE = np.float32
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
        self._ranks: OrderedDict[bytes, Ranked] = OrderedDict()  # recent ranks: entropy is ranked once
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
            .astype(DTYPE)
        )

    @cached_property
    def _untied_sum_sq(self) -> np.ndarray:
        """Sum over items of w (r - mean)^2 for values without ties, shape (n_resamples,): each item's copies form
        one tie group of size w, so it is (n^3 - n - sum(w^3 - w)) / 12, whatever the values."""
        w = self.counts.astype(np.float64)
        return (self.n**3 - self.n - (w**3 - w).sum(axis=1)) / 12

    def centred_ranks(self, values: np.ndarray) -> Ranked:
        """Average ranks of each item within each resample, centred on their resample mean ``(n + 1) / 2``, with
        their weighted sums of squares. Recently ranked values are cached (entropy is ranked once)."""
        values = np.asarray(values, dtype=float)
        if values.shape != (self.n,):
            raise ValueError(f"expected {self.n} values, got shape {values.shape}")
        key = values.tobytes()
        with self._lock:
            ranked = self._ranks.pop(key, None)
        if ranked is None:
            ranked = self._centred_ranks(values)
        with self._lock:
            self._ranks[key] = ranked
            while len(self._ranks) > RANK_CACHE:
                self._ranks.popitem(last=False)
        return ranked

    def _centred_ranks(self, values: np.ndarray) -> Ranked:
        order = np.argsort(values, kind="stable")
        ordered = values[order]
        new_group = np.r_[True, ordered[1:] != ordered[:-1]]
        ties = not new_group.all()
        starts = np.flatnonzero(new_group)
        position = np.empty(self.n, dtype=np.int64)  # where each item's tie group sits in the per-group arrays
        position[order] = np.cumsum(new_group) - 1 if ties else np.arange(self.n)
        out = np.empty((self.n_resamples, self.n), dtype=DTYPE)
        sum_sq = self._untied_sum_sq if not ties else np.empty(self.n_resamples)
        shift = DTYPE(0.5 - (self.n + 1) / 2)
        for lo in range(0, self.n_resamples, CHUNK):
            per_group = np.take(self.counts[lo : lo + CHUNK], order, axis=1)
            if ties:
                per_group = np.add.reduceat(per_group, starts, axis=1)
                t = per_group.astype(np.float64)
                sum_sq[lo : lo + CHUNK] = (self.n**3 - self.n - (t**3 - t).sum(axis=1)) / 12
            ranks = np.cumsum(per_group, axis=1)  # rank = items below + (copies + 1) / 2, centred
            per_group *= DTYPE(0.5)
            ranks -= per_group
            ranks += shift
            out[lo : lo + CHUNK] = np.take(ranks, position, axis=1)
        return Ranked(out, sum_sq)

    def spearman(self, x: Ranked, y: Ranked) -> np.ndarray:
        """Spearman correlation in every resample, shape ``(n_resamples,)``, from `centred_ranks` of x and y."""
        cross = np.empty(self.n_resamples)
        for lo in range(0, self.n_resamples, CHUNK):
            weighted = self.counts[lo : lo + CHUNK] * x.centred[lo : lo + CHUNK]
            cross[lo : lo + CHUNK] = np.einsum("ij,ij->i", weighted, y.centred[lo : lo + CHUNK], dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return cross / np.sqrt(x.sum_sq * y.sum_sq)


@lru_cache(maxsize=2)
def shared_bootstrap(n: int, n_resamples: int, seed: int) -> Bootstrap:
    """One set of resamples per item count, per process: every statistic and run over the same items shares it
    (common random numbers), and a metric's ranks are computed once."""
    return Bootstrap(n, n_resamples=n_resamples, seed=seed)


@dataclass(frozen=True)
class Ranked:
    """Centred within-resample ranks, shape ``(n_resamples, n)``, and their count-weighted sums of squares."""

    centred: np.ndarray
    sum_sq: np.ndarray


def percentile_interval(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    """The percentile bootstrap interval; resamples whose statistic is undefined (NaN) are left out."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    alpha = (1 - confidence) / 2
    low, high = np.nanquantile(replicates, [alpha, 1 - alpha])
    return float(low), float(high)

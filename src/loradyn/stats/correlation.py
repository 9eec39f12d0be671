"""Spearman's rho and Kendall's tau-b with percentile bootstrap confidence intervals."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from loradyn.stats.bootstrap import Bootstrap, percentile_interval


@dataclass(frozen=True)
class Correlation:
    """A correlation, its percentile bootstrap interval and its (asymptotic) p-value."""

    estimate: float
    low: float
    high: float
    pvalue: float
    n: int
    confidence: float
    n_resamples: int

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _paired(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D arrays of one length, got {x.shape} and {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite; drop NaN or infinite values first (see loradyn.stats.finite_pairs)")
    return x, y


def spearman_ci(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
    bootstrap: Bootstrap | None = None,
) -> Correlation:
    """Spearman's rho of ``x`` and ``y`` (shape ``(N,)``) with a percentile bootstrap CI over items.

    10,000 resamples by default, vectorised and seeded; pass a shared ``bootstrap`` to evaluate several
    metrics on the same resamples (its ``n_resamples`` and ``seed`` then apply).
    """
    x, y = _paired(x, y)
    boot = bootstrap or Bootstrap(len(x), n_resamples=n_resamples, seed=seed)
    result = stats.spearmanr(x, y)
    low, high = percentile_interval(boot.spearman(boot.centred_ranks(x), boot.centred_ranks(y)), confidence)
    return Correlation(float(result.statistic), low, high, float(result.pvalue), len(x), confidence, boot.n_resamples)


def kendall_ci(
    x: np.ndarray, y: np.ndarray, *, n_resamples: int = 10_000, confidence: float = 0.95, seed: int = 0
) -> Correlation:
    """Kendall's tau-b with a percentile bootstrap CI over items (scipy's O(N log N) tau per resample; slower
    than `spearman_ci`, about a millisecond per resample at N = 1,000)."""
    x, y = _paired(x, y)
    result = stats.kendalltau(x, y)
    draws = np.random.default_rng(seed).integers(0, len(x), size=(n_resamples, len(x)))
    replicates = np.array([stats.kendalltau(x[d], y[d]).statistic for d in draws])
    low, high = percentile_interval(replicates, confidence)
    return Correlation(float(result.statistic), low, high, float(result.pvalue), len(x), confidence, n_resamples)


def finite_pairs(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Drop pairs where either value is NaN or infinite; returns ``(x, y, n_dropped)`` (documented, counted)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep], int((~keep).sum())

"""Partial Spearman correlation: rank-residualise on covariates, then correlate the residuals."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class PartialCorrelation:
    estimate: float
    pvalue: float
    n: int
    n_covariates: int

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _residuals(target: np.ndarray, design: np.ndarray) -> np.ndarray:
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    return target - design @ coef


def partial_spearman(x: np.ndarray, y: np.ndarray, covariates: np.ndarray) -> PartialCorrelation:
    """Spearman correlation of ``x`` and ``y`` (N,) controlling for ``covariates`` (N, p).

    Every variable is rank-transformed (average ranks); the ranks of ``x`` and ``y`` are regressed by least
    squares on an intercept and the covariates' ranks, and the residuals are correlated (Pearson). The p-value is
    the two-sided t test with ``N - 2 - p`` degrees of freedom. The first study controls for premise, hypothesis
    and total length, majority confidence and gold label.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    covariates = np.asarray(covariates, dtype=float).reshape(len(x), -1)
    n, p = covariates.shape
    if n - 2 - p < 1:
        raise ValueError(f"{n} items are too few for {p} covariates")
    design = np.column_stack([np.ones(n), stats.rankdata(covariates, axis=0)])
    rx = _residuals(stats.rankdata(x), design)
    ry = _residuals(stats.rankdata(y), design)
    r = float(np.corrcoef(rx, ry)[0, 1])
    df = n - 2 - p
    t = r * np.sqrt(df / max(1e-300, 1 - r**2))
    return PartialCorrelation(r, float(2 * stats.t.sf(abs(t), df)), n, p)


def spearman_by_group(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> dict[str, dict[str, float]]:
    """Spearman rho (and p, n) within each group, e.g. within each gold label."""
    x, y, groups = np.asarray(x, dtype=float), np.asarray(y, dtype=float), np.asarray(groups)
    out = {}
    for g in np.unique(groups):
        member = groups == g
        result = stats.spearmanr(x[member], y[member])
        out[str(g)] = {"rho": float(result.statistic), "p": float(result.pvalue), "n": int(member.sum())}
    return out

"""Partial Spearman correlation: rank-residualise on covariates, then correlate the residuals."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

#: Below this share of a variable's rank variance left after the covariates, the covariates determine it and a
#: partial correlation is meaningless (it correlates rounding noise): it is reported as undefined.
DEGENERATE_SHARE = 0.01


@dataclass(frozen=True)
class PartialCorrelation:
    """``variance_left`` is the smaller share of x's and y's rank variance that the covariates leave; when it is
    below `DEGENERATE_SHARE` the covariates determine a variable, ``degenerate`` is True and the estimate NaN."""

    estimate: float
    pvalue: float
    n: int
    n_covariates: int
    variance_left: float
    degenerate: bool

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _residuals(target: np.ndarray, design: np.ndarray) -> np.ndarray:
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    return target - design @ coef


def partial_spearman(x: np.ndarray, y: np.ndarray, covariates: np.ndarray) -> PartialCorrelation:
    """Spearman correlation of ``x`` and ``y`` (N,) controlling for ``covariates`` (N, p).

    Every variable is rank-transformed (average ranks); the ranks of ``x`` and ``y`` are regressed by least
    squares on an intercept and the covariates' ranks, and the residuals are correlated (Pearson). The p-value is
    the two-sided t test with ``N - 2 - p`` degrees of freedom. With one covariate this is the first-order
    partial correlation of ranks, ``(r_xy - r_xz r_yz) / sqrt((1 - r_xz^2)(1 - r_yz^2))``, which is how the first
    study's code controls for one covariate at a time.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    covariates = np.asarray(covariates, dtype=float).reshape(len(x), -1)
    n, p = covariates.shape
    if n - 2 - p < 1:
        raise ValueError(f"{n} items are too few for {p} covariates")
    design = np.column_stack([np.ones(n), stats.rankdata(covariates, axis=0)])
    ranks = [stats.rankdata(x), stats.rankdata(y)]
    rx, ry = (_residuals(r, design) for r in ranks)
    left = float(min(np.var(rx) / np.var(ranks[0]), np.var(ry) / np.var(ranks[1])))
    df = n - 2 - p
    if left < DEGENERATE_SHARE:
        return PartialCorrelation(float("nan"), float("nan"), n, p, left, True)
    r = float(np.corrcoef(rx, ry)[0, 1])
    t = r * np.sqrt(df / max(1e-300, 1 - r**2))
    return PartialCorrelation(r, float(2 * stats.t.sf(abs(t), df)), n, p, left, False)


def spearman_by_group(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, *, min_n: int = 10
) -> dict[str, dict[str, float]]:
    """Spearman rho (and p, n) within each group of at least ``min_n`` items (the first study: within each gold
    label, groups of 10 or more)."""
    x, y, groups = np.asarray(x, dtype=float), np.asarray(y, dtype=float), np.asarray(groups)
    out = {}
    for g in np.unique(groups):
        member = groups == g
        if member.sum() >= min_n:
            result = stats.spearmanr(x[member], y[member])
            out[str(g)] = {"rho": float(result.statistic), "p": float(result.pvalue), "n": int(member.sum())}
    return out

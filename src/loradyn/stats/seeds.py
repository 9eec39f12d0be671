"""Across seeds and conditions: aggregation, differences with bootstrap CIs, paired tests, multiple testing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

from loradyn.stats.bootstrap import Bootstrap, percentile_interval


def aggregate_seeds(values: Sequence[float]) -> dict[str, float]:
    """Mean and sample standard deviation (ddof=1) of one statistic across seeds."""
    values = np.asarray(values, dtype=float)
    return {
        "mean": float(values.mean()),
        "sd": float(values.std(ddof=1)) if len(values) > 1 else float("nan"),
        "n_seeds": len(values),
    }


def rho_difference_ci(
    metric_a: np.ndarray,
    metric_b: np.ndarray,
    entropy: np.ndarray,
    *,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, float]:
    """rho(metric_a, entropy) - rho(metric_b, entropy) over the same items (e.g. LoRA r4 vs full fine-tuning),
    with a paired percentile bootstrap CI: both correlations are computed on each item resample."""
    boot = Bootstrap(len(entropy), n_resamples=n_resamples, seed=seed)
    rh = boot.centred_ranks(entropy)
    diff = boot.spearman(boot.centred_ranks(metric_a), rh) - boot.spearman(boot.centred_ranks(metric_b), rh)
    estimate = stats.spearmanr(metric_a, entropy).statistic - stats.spearmanr(metric_b, entropy).statistic
    low, high = percentile_interval(diff, confidence)
    return {"estimate": float(estimate), "low": low, "high": high, "confidence": confidence}


def paired_comparison(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Paired per-item comparison of two conditions: Wilcoxon signed-rank test and Cohen's d for paired samples
    (mean difference over the standard deviation of the differences, ddof=1)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff = a - b
    test = stats.wilcoxon(a, b)
    return {
        "mean_difference": float(diff.mean()),
        "cohens_d": float(diff.mean() / diff.std(ddof=1)),
        "wilcoxon_statistic": float(test.statistic),
        "pvalue": float(test.pvalue),
        "n": len(diff),
    }


def adjust_pvalues(pvalues: Sequence[float], *, method: str = "holm") -> np.ndarray:
    """Adjust a family of p-values: ``"holm"`` (family-wise error) or ``"bh"`` (``"fdr_bh"``: Benjamini-Hochberg
    false discovery rate), through statsmodels' ``multipletests``."""
    methods = {"holm": "holm", "bh": "fdr_bh", "fdr_bh": "fdr_bh"}
    if method not in methods:
        raise ValueError(f"method must be one of {', '.join(methods)}, got {method!r}")
    return multipletests(np.asarray(pvalues, dtype=float), method=methods[method])[1]

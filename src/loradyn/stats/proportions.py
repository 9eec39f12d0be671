"""Shares of examples per group with confidence intervals, and the test that the groups share one rate."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import proportion_confint


def shares_by_group(flags: np.ndarray, groups: np.ndarray, *, confidence: float = 0.95) -> dict[str, Any]:
    """Per group: the share of ``flags`` (N,) that are true, with its Wilson score interval; and Pearson's
    chi-squared test of independence of flag and group (``scipy.stats.chi2_contingency``, no continuity
    correction beyond scipy's default for 2 x 2). NaN flags are left out and counted in ``n_dropped``."""
    flags = np.asarray(flags, dtype=float)
    groups = np.asarray(groups)
    keep = np.isfinite(flags)
    flags, groups = flags[keep] == 1, groups[keep]
    by_group, table = {}, []
    for g in sorted(set(groups.tolist())):
        member = flags[groups == g]
        hits = int(member.sum())
        low, high = proportion_confint(hits, len(member), alpha=1 - confidence, method="wilson")
        by_group[str(g)] = {"share": hits / len(member), "low": float(low), "high": float(high), "n": len(member)}
        table.append([hits, len(member) - hits])
    test = {"chi2": float("nan"), "pvalue": float("nan"), "dof": 0}
    counts = np.asarray(table)
    if len(table) > 1 and (counts.sum(axis=0) > 0).all():
        result = stats.chi2_contingency(counts)
        test = {"chi2": float(result.statistic), "pvalue": float(result.pvalue), "dof": int(result.dof)}
    return {"by_group": by_group, "chi2_test": test, "n_dropped": int((~keep).sum())}

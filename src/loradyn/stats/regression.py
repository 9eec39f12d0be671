"""Hierarchical regression: does annotation entropy explain a metric beyond the data map?"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import statsmodels.api as sm


@dataclass(frozen=True)
class HierarchicalRegression:
    r2_base: float
    r2_full: float
    delta_r2: float
    f: float
    pvalue: float
    df: tuple[int, int]
    pvalue_hc3: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def hierarchical_regression(y: np.ndarray, base: np.ndarray, added: np.ndarray) -> HierarchicalRegression:
    """OLS of ``y`` on ``base`` (N, p), then on ``base`` + ``added`` (N, q), both with an intercept; ΔR² and the
    F test of the nested models (statsmodels ``compare_f_test``), and beside it the heteroskedasticity-robust
    (HC3) Wald F test (residual degrees of freedom) that the added coefficients are zero. The first study:
    metric ~ data-map confidence + variability, then + entropy."""
    y = np.asarray(y, dtype=float)
    base = np.asarray(base, dtype=float).reshape(len(y), -1)
    full = np.column_stack([base, np.asarray(added, dtype=float).reshape(len(y), -1)])
    small = sm.OLS(y, sm.add_constant(base, has_constant="add")).fit()
    large = sm.OLS(y, sm.add_constant(full, has_constant="add")).fit()
    f, p, df_diff = large.compare_f_test(small)
    added_terms = np.eye(full.shape[1] + 1)[base.shape[1] + 1 :]
    robust = large.get_robustcov_results(cov_type="HC3")
    p_hc3 = float(np.squeeze(robust.wald_test(added_terms, scalar=True).pvalue))
    return HierarchicalRegression(
        float(small.rsquared),
        float(large.rsquared),
        float(large.rsquared - small.rsquared),
        float(f),
        float(p),
        (int(df_diff), int(large.df_resid)),
        p_hc3,
    )

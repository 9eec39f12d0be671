"""Statistics of the first study: correlations with bootstrap CIs, partial correlations, regressions, seeds,
shares per group and multiple testing; pure functions of arrays."""

from loradyn.stats.bootstrap import Bootstrap
from loradyn.stats.correlation import finite_pairs, kendall_ci, spearman_ci
from loradyn.stats.entropy import entropy_statistics
from loradyn.stats.partial import partial_spearman, spearman_by_group
from loradyn.stats.proportions import shares_by_group
from loradyn.stats.regression import hierarchical_regression
from loradyn.stats.seeds import adjust_pvalues, aggregate_seeds, paired_comparison, rho_difference_ci

__all__ = [
    "Bootstrap",
    "adjust_pvalues",
    "aggregate_seeds",
    "entropy_statistics",
    "finite_pairs",
    "hierarchical_regression",
    "kendall_ci",
    "paired_comparison",
    "partial_spearman",
    "rho_difference_ci",
    "shares_by_group",
    "spearman_by_group",
    "spearman_ci",
]

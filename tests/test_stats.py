"""Statistics against scipy, statsmodels and hand computation."""

from __future__ import annotations

import statistics

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import LinearRegression

from loradyn.stats.bootstrap import Bootstrap
from loradyn.stats.correlation import finite_pairs, kendall_ci, spearman_ci
from loradyn.stats.partial import partial_spearman, spearman_by_group
from loradyn.stats.proportions import shares_by_group
from loradyn.stats.regression import hierarchical_regression
from loradyn.stats.seeds import adjust_pvalues, aggregate_seeds, paired_comparison, rho_difference_ci


@pytest.fixture
def xy():
    rng = np.random.default_rng(7)
    x = rng.normal(size=300)
    y = np.round(0.4 * x + rng.normal(size=300), 1)  # rounded: ties, like entropy from vote counts
    return x, y


def test_point_estimates_equal_scipy(xy):
    x, y = xy
    assert spearman_ci(x, y, n_resamples=200).estimate == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert kendall_ci(x, y, n_resamples=50).estimate == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)
    assert spearman_ci(x, y, n_resamples=200).pvalue == pytest.approx(stats.spearmanr(x, y).pvalue, rel=1e-9)


def test_each_bootstrap_replicate_is_spearman_of_the_resample(xy):
    x, y = xy
    boot = Bootstrap(len(x), n_resamples=20, seed=3)
    replicates = boot.spearman(boot.centred_ranks(x), boot.centred_ranks(y))
    for b in range(20):
        drawn = np.repeat(np.arange(len(x)), boot.counts[b].astype(int))
        assert replicates[b] == pytest.approx(stats.spearmanr(x[drawn], y[drawn]).statistic, abs=1e-12)


@pytest.mark.parametrize("method", ["spearman", "kendall"])
def test_interval_agrees_with_scipy_bootstrap(xy, method):
    x, y = xy
    n = 4000 if method == "spearman" else 1000
    ours = (spearman_ci if method == "spearman" else kendall_ci)(x, y, n_resamples=n, seed=1)
    statistic = (
        (lambda a, b: stats.spearmanr(a, b).statistic)
        if method == "spearman"
        else (lambda a, b: stats.kendalltau(a, b).statistic)
    )
    reference = stats.bootstrap(
        (x, y),
        statistic,
        paired=True,
        vectorized=False,
        n_resamples=n,
        method="percentile",
        random_state=np.random.default_rng(2),
    ).confidence_interval
    # Monte-Carlo error of a 2.5% quantile of ~n replicates with SD ~0.05 is ~0.005; allow 0.02
    assert ours.low == pytest.approx(reference.low, abs=0.02)
    assert ours.high == pytest.approx(reference.high, abs=0.02)
    assert ours.low < ours.estimate < ours.high


def test_bootstrap_is_seeded():
    x, y = np.arange(50.0), np.sin(np.arange(50.0))
    a, b, c = (spearman_ci(x, y, n_resamples=500, seed=s) for s in (1, 1, 2))
    assert (a.low, a.high) == (b.low, b.high) != (c.low, c.high)


def test_non_finite_input_is_refused_and_finite_pairs_counts_drops():
    with pytest.raises(ValueError, match="finite"):
        spearman_ci(np.array([1.0, np.nan, 3.0, 4.0]), np.arange(4.0))
    x, _, dropped = finite_pairs(np.array([1.0, np.nan, 3.0, np.inf]), np.arange(4.0))
    assert dropped == 2 and x.tolist() == [1.0, 3.0]


def test_partial_spearman_equals_a_hand_computed_residual_correlation():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(200, 2))
    x = z[:, 0] + rng.normal(size=200)
    y = z[:, 0] - z[:, 1] + 0.3 * x + rng.normal(size=200)
    rz = stats.rankdata(z, axis=0)
    residual = [r - LinearRegression().fit(rz, r).predict(rz) for r in (stats.rankdata(x), stats.rankdata(y))]
    expected = stats.pearsonr(*residual).statistic
    result = partial_spearman(x, y, z)
    assert result.estimate == pytest.approx(expected, abs=1e-10)
    t = expected * np.sqrt((200 - 4) / (1 - expected**2))
    assert result.pvalue == pytest.approx(2 * stats.t.sf(abs(t), 196), rel=1e-8)


def test_spearman_within_groups():
    x, y = np.arange(10.0), np.r_[np.arange(5.0), -np.arange(5.0)]
    groups = np.repeat(["a", "b"], 5)
    got = spearman_by_group(x, y, groups, min_n=5)
    assert got["a"]["rho"] == pytest.approx(1.0) and got["b"]["rho"] == pytest.approx(-1.0)
    assert spearman_by_group(x, y, groups) == {}  # the first study skips labels with fewer than 10 items


def test_one_covariate_partial_is_the_first_order_formula():
    rng = np.random.default_rng(4)
    z = rng.normal(size=300)
    x, y = z + rng.normal(size=300), z + rng.normal(size=300)
    r = {k: stats.spearmanr(a, b).statistic for k, (a, b) in {"xy": (x, y), "xz": (x, z), "yz": (y, z)}.items()}
    expected = (r["xy"] - r["xz"] * r["yz"]) / np.sqrt((1 - r["xz"] ** 2) * (1 - r["yz"] ** 2))
    assert partial_spearman(x, y, z).estimate == pytest.approx(expected, abs=1e-10)


def test_a_covariate_that_determines_entropy_is_reported_as_degenerate():
    rng = np.random.default_rng(5)
    entropy = rng.uniform(0, 1.1, size=200)
    aulc = entropy + rng.normal(size=200)
    result = partial_spearman(aulc, entropy, -np.exp(entropy))  # a monotone function of entropy
    assert result.degenerate and np.isnan(result.estimate) and result.variance_left < 1e-9
    fine = partial_spearman(aulc, entropy, rng.normal(size=200))
    assert not fine.degenerate and fine.variance_left > 0.9


def test_hierarchical_regression_against_sklearn():
    rng = np.random.default_rng(1)
    base = rng.normal(size=(150, 2))
    added = rng.normal(size=150)
    y = base @ [1.0, -0.5] + 0.3 * added + rng.normal(size=150)
    result = hierarchical_regression(y, base, added)
    full = np.column_stack([base, added])
    r2_base = LinearRegression().fit(base, y).score(base, y)
    r2_full = LinearRegression().fit(full, y).score(full, y)
    assert result.delta_r2 == pytest.approx(r2_full - r2_base, abs=1e-10)
    f = (r2_full - r2_base) / 1 / ((1 - r2_full) / (150 - 4))
    assert result.f == pytest.approx(f, rel=1e-8)
    assert result.pvalue == pytest.approx(stats.f.sf(f, 1, 146), rel=1e-6)
    # HC3 by hand: (X'X)^-1 X' diag(e^2 / (1 - h)^2) X (X'X)^-1, Wald z of the added coefficient
    design = np.column_stack([np.ones(150), full])
    bread = np.linalg.inv(design.T @ design)
    coef = bread @ design.T @ y
    resid = y - design @ coef
    leverage = np.einsum("ij,jk,ik->i", design, bread, design)
    cov = bread @ (design.T * (resid / (1 - leverage)) ** 2) @ design @ bread
    z = coef[-1] / np.sqrt(cov[-1, -1])
    assert result.pvalue_hc3 == pytest.approx(2 * stats.t.sf(abs(z), 146), rel=1e-6)  # t reference, as OLS


def test_shares_by_group_with_wilson_intervals_and_a_chi_squared_test():
    flags = np.concatenate([np.ones(30), np.zeros(70), np.ones(10), np.zeros(90), [np.nan]])
    groups = np.array(["a"] * 100 + ["b"] * 101)
    got = shares_by_group(flags, groups)
    a = got["by_group"]["a"]
    centre, half = (
        (0.3 + 1.96**2 / 200) / (1 + 1.96**2 / 100),
        1.96 / (1 + 1.96**2 / 100) * np.sqrt(0.3 * 0.7 / 100 + 1.96**2 / 40000),
    )
    assert a["share"] == 0.3 and a["low"] == pytest.approx(centre - half, abs=1e-4)
    assert a["high"] == pytest.approx(centre + half, abs=1e-4)
    expected = stats.chi2_contingency([[30, 70], [10, 90]])
    assert got["chi2_test"]["pvalue"] == pytest.approx(expected.pvalue) and got["n_dropped"] == 1


def test_seed_aggregation_and_paired_comparison():
    values = [0.21, 0.25, 0.19]
    got = aggregate_seeds(values)
    assert got["mean"] == pytest.approx(statistics.mean(values)) and got["sd"] == pytest.approx(
        statistics.stdev(values)
    )
    rng = np.random.default_rng(2)
    a = rng.normal(size=60)
    b = a - 0.3 + rng.normal(scale=0.5, size=60)
    result = paired_comparison(a, b)
    assert result["pvalue"] == pytest.approx(stats.wilcoxon(a, b).pvalue)
    assert result["cohens_d"] == pytest.approx(np.mean(a - b) / np.std(a - b, ddof=1))


def test_rho_difference_between_conditions():
    rng = np.random.default_rng(3)
    entropy = rng.uniform(0, 1.1, size=300)
    strong, weak = entropy + rng.normal(scale=0.3, size=300), entropy + rng.normal(scale=3, size=300)
    got = rho_difference_ci(strong, weak, entropy, n_resamples=2000)
    expected = stats.spearmanr(strong, entropy).statistic - stats.spearmanr(weak, entropy).statistic
    assert got["estimate"] == pytest.approx(expected)
    assert 0 < got["low"] < got["estimate"] < got["high"]


def test_multiple_testing_against_hand_computed_values():
    p = np.array([0.01, 0.04, 0.03, 0.2])
    # Holm: sorted 0.01, 0.03, 0.04, 0.2 times 4, 3, 2, 1, running maximum
    np.testing.assert_allclose(adjust_pvalues(p, method="holm"), [0.04, 0.09, 0.09, 0.2])
    # BH: sorted p * 4 / rank = 0.04, 0.06, 0.0533, 0.2, running minimum from the top
    np.testing.assert_allclose(adjust_pvalues(p, method="fdr_bh"), [0.04, 0.16 / 3, 0.16 / 3, 0.2])
    np.testing.assert_allclose(adjust_pvalues(p, method="bh"), adjust_pvalues(p, method="fdr_bh"))
    with pytest.raises(ValueError, match="holm"):
        adjust_pvalues(p, method="bonferroni")

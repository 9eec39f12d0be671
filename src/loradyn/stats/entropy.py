"""How one run's per-example metrics follow annotation entropy: the first study's statistics (``stats.json``).

Each block names its source. Correlations: Spearman's rho with a percentile bootstrap CI over items (10,000
resamples) and Kendall's tau-b. Controls on AULC, as the first study's Table 1 scripts apply them: rho within each
gold label, and the first-order partial rho controlling for one length at a time; beside them, a stricter control
that loradyn adds and names as such (lengths, gold label and majority confidence together; majority confidence has
Spearman about -0.95 with entropy, so it removes most of entropy's rank variance). The author's own partial
correlation (his script 05) is another measure: the threshold learning time against entropy, one covariate at a time
among the lengths, majority confidence and label skewness, never-learned items left out. Two hierarchical
regressions of AULC, entropy after the data map: loradyn's on the training-pass map, and the author's (script 10) on
the probe map, step 0 included, which is nearly circular (AULC is the mean of -log p(gold) over those very probes).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from loradyn.metrics.calibration import expected_calibration_error
from loradyn.stats.bootstrap import shared_bootstrap
from loradyn.stats.correlation import finite_pairs, spearman_ci
from loradyn.stats.partial import partial_spearman, spearman_by_group
from loradyn.stats.proportions import shares_by_group
from loradyn.stats.regression import hierarchical_regression

#: Metrics correlated with annotation entropy (rho, p and Kendall's tau each).
CORRELATED = ("aulc", "delta_loss", "late_unlearning", "loss_slope", "final_loss", "confidence", "variability")
#: Metrics whose rho also gets a bootstrap CI by default: the first study's two headline measures.
WITH_CI = ("aulc", "delta_loss")
#: Items a control or a regression needs; with fewer, it is skipped and the skip said (the rest still runs).
MIN_CONTROLLED = 10
#: Lengths the first study controls for, one at a time.
LENGTHS = ("premise_words", "hypothesis_words", "total_words")


def entropy_statistics(
    metrics: pd.DataFrame, *, n_resamples: int = 10_000, seed: int = 0, with_ci: tuple[str, ...] = WITH_CI
) -> dict[str, Any]:
    """The statistics of one run's metrics table (see `loradyn.metrics.table`) against its ``entropy`` column.

    Every p-value computed is also listed under ``"tests"`` (name, p), so that a family of runs can be adjusted
    together. Examples whose metric is NaN (a missing checkpoint, or never learned) are left out of that metric's
    statistics and counted (``n_dropped``).
    """
    entropy = metrics["entropy"].to_numpy(dtype=float)
    tests: list[dict[str, Any]] = []
    out: dict[str, Any] = {"n_items": len(metrics), "spearman": {}, "tests": tests}
    for name in CORRELATED:
        if name not in metrics or metrics[name].isna().all():
            continue
        x, y, dropped = finite_pairs(metrics[name].to_numpy(dtype=float), entropy)
        if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
            out["spearman"][name] = {"estimate": None, "n": len(x), "n_dropped": dropped, "undefined": "constant"}
            continue
        if name in with_ci:
            result = spearman_ci(x, y, bootstrap=shared_bootstrap(len(x), n_resamples, seed)).to_dict()
        else:
            rho = stats.spearmanr(x, y)
            result = {"estimate": float(rho.statistic), "pvalue": float(rho.pvalue), "n": len(x)}
        out["spearman"][name] = result | {"n_dropped": dropped, "kendall_tau": float(stats.kendalltau(x, y).statistic)}
        tests.append({"test": f"spearman {name}", "pvalue": result["pvalue"]})
    out["controls"] = _controls(metrics, tests)
    out["authors_partial"] = _authors_partial(metrics, tests)
    out["hierarchical_regression_aulc"] = _regression(metrics, tests)
    out["hierarchical_regression_aulc_probe_map"] = _regression(metrics, tests, data_map="probe")
    out["unlearning"] = _unlearning(metrics, tests)
    if "final_confidence" in metrics and "category" in metrics:
        out["calibration_by_category"] = _calibration(metrics)
    return out


def _controls(metrics: pd.DataFrame, tests: list[dict[str, Any]]) -> dict[str, Any]:
    """rho(AULC, entropy) within each gold label; partial rho controlling for each length alone (the first
    study's); and the stricter joint control with majority confidence (loradyn's)."""
    frame = metrics.dropna(subset=["aulc", "entropy"])
    if len(frame) < MIN_CONTROLLED:
        return {"skipped": f"{len(frame)} items: too few for a partial correlation (it needs {MIN_CONTROLLED})"}
    aulc, entropy = frame["aulc"].to_numpy(), frame["entropy"].to_numpy()
    out: dict[str, Any] = {}
    if "original_label" in frame:
        out["within_label"] = spearman_by_group(aulc, entropy, frame["original_label"].to_numpy())
        tests += [{"test": f"spearman aulc within label {g}", "pvalue": r["p"]} for g, r in out["within_label"].items()]
    lengths = [c for c in LENGTHS if c in frame]
    out["partial_one_length"] = {c: partial_spearman(aulc, entropy, frame[c].to_numpy()).to_dict() for c in lengths}
    tests += [{"test": f"partial aulc | {c}", "pvalue": r["pvalue"]} for c, r in out["partial_one_length"].items()]
    strict = [*lengths, "majority_confidence"] if "majority_confidence" in frame else []
    if strict and "original_label" in frame:
        labels = pd.get_dummies(frame["original_label"], drop_first=True, dtype=float).to_numpy()
        design = np.column_stack([frame[strict].to_numpy(dtype=float), labels])
        result = partial_spearman(aulc, entropy, design).to_dict()
        out["partial_strict"] = result | {"controls": [*strict, "gold label"]}
        tests.append({"test": "partial aulc | lengths, gold label, majority confidence", "pvalue": result["pvalue"]})
    return out


def _authors_partial(metrics: pd.DataFrame, tests: list[dict[str, Any]]) -> dict[str, Any]:
    """The first study's partial correlation (its script 05): Spearman of the threshold learning time against
    entropy, then the first-order partial rho controlling for each of the lengths, majority confidence and label
    skewness alone; items never below the threshold are left out, as in the author's code."""
    if "threshold_learning_time" not in metrics:
        return {"skipped": "no threshold learning time"}
    frame = metrics.dropna(subset=["threshold_learning_time", "entropy"])
    time, entropy = frame["threshold_learning_time"].to_numpy(), frame["entropy"].to_numpy()
    out: dict[str, Any] = {"metric": "threshold_learning_time", "n": len(frame), "n_never": len(metrics) - len(frame)}
    if len(frame) < MIN_CONTROLLED or np.ptp(time) == 0 or np.ptp(entropy) == 0:
        return out | {"skipped": f"{len(frame)} items learned, with too little spread for a correlation"}
    rho = stats.spearmanr(time, entropy)
    out["spearman"] = {"estimate": float(rho.statistic), "pvalue": float(rho.pvalue)}
    tests.append({"test": "spearman threshold_learning_time", "pvalue": out["spearman"]["pvalue"]})
    out["partial"] = {}
    for c in (*LENGTHS, "majority_confidence", "label_skewness"):
        known = frame[c].notna().to_numpy() if c in frame else np.zeros(len(frame), dtype=bool)
        # a covariate that does not vary controls nothing: alphaNLI's two counts always have skewness 0
        if known.sum() >= MIN_CONTROLLED and frame.loc[known, c].nunique() > 1:
            out["partial"][c] = partial_spearman(time[known], entropy[known], frame.loc[known, c].to_numpy()).to_dict()
    tests += [
        {"test": f"partial threshold_learning_time | {c}", "pvalue": r["pvalue"]} for c, r in out["partial"].items()
    ]
    return out


#: The data maps a hierarchical regression can control for: columns of the metrics table, and what they are.
DATA_MAPS = {
    "training": (("confidence", "variability"), "training pass, per epoch"),
    "probe": (("probe_confidence", "probe_variability"), "probes, step 0 included (the author's; nearly circular)"),
}


def _regression(metrics: pd.DataFrame, tests: list[dict[str, Any]], *, data_map: str = "training") -> dict[str, Any]:
    """AULC ~ data-map confidence + variability, then + entropy: does entropy add anything? On the training-pass
    map (loradyn's), or on the probe map (the author's)."""
    base, source = DATA_MAPS[data_map]
    frame = metrics[["aulc", *base, "entropy"]].dropna() if set(base) <= set(metrics) else pd.DataFrame()
    if len(frame) < MIN_CONTROLLED or (frame[list(base)].std() == 0).any():
        return {"skipped": f"needs a data map ({source}) of {MIN_CONTROLLED} or more examples that vary"}
    result = hierarchical_regression(frame["aulc"], frame[list(base)], frame["entropy"])
    tests.append(
        {"test": f"hierarchical regression aulc: entropy beyond the {data_map} data map", "pvalue": result.pvalue}
    )
    return result.to_dict() | {"n": len(frame), "data_map": source}


def _unlearning(metrics: pd.DataFrame, tests: list[dict[str, Any]]) -> dict[str, Any]:
    """Per entropy category: mean delta loss (the first study's un-learning table), the share with a positive
    delta loss, and the share learned then lost, each share with its Wilson CI and a chi-squared test across
    categories."""
    if "category" not in metrics:
        return {}
    categories = metrics["category"].to_numpy()
    delta = metrics["delta_loss"].to_numpy(dtype=float)
    out = {
        "delta_loss_mean": metrics.groupby("category")["delta_loss"].mean().to_dict(),
        "delta_loss_positive": shares_by_group(np.where(np.isnan(delta), np.nan, delta > 0), categories),
        "learned_then_lost": shares_by_group(metrics["learned_then_lost"].to_numpy(dtype=float), categories),
    }
    for name in ("delta_loss_positive", "learned_then_lost"):
        tests.append({"test": f"{name} across categories (chi2)", "pvalue": out[name]["chi2_test"]["pvalue"]})
    return out


def _calibration(metrics: pd.DataFrame) -> dict[str, dict[str, float]]:
    """ECE (15 bins), mean prediction entropy and accuracy at the last probe, per entropy category."""
    out = {}
    for category, group in metrics.dropna(subset=["final_confidence", "final_correct"]).groupby("category"):
        confidence = group["final_confidence"].to_numpy()
        correct = group["final_correct"].to_numpy() == 1
        out[str(category)] = {
            "ece": expected_calibration_error(confidence, correct),
            "prediction_entropy": float(group["prediction_entropy"].mean()),
            "accuracy": float(correct.mean()),
            "n": len(group),
        }
    return out

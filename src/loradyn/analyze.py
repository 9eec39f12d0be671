"""``loradyn analyze``: per-example metrics and the first study's statistics, from run directories alone.

For each run directory this writes ``metrics.parquet`` (one row per tracked example: ``example_id``, ``aulc``, the
other metrics and the annotation entropy) and ``stats.json`` (correlations of each metric with entropy, partial
and within-label correlations, the hierarchical regression, un-learning shares). Runs of one condition that
differ only in their seed are aggregated (mean and SD across seeds).
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from loradyn.errors import DataError
from loradyn.io import write_atomic, write_json
from loradyn.metrics import curves
from loradyn.metrics.calibration import expected_calibration_error, prediction_entropy
from loradyn.metrics.datamap import data_map
from loradyn.metrics.margins import aum
from loradyn.stats.bootstrap import Bootstrap
from loradyn.stats.correlation import spearman_ci
from loradyn.stats.partial import partial_spearman, spearman_by_group
from loradyn.stats.regression import hierarchical_regression
from loradyn.stats.seeds import adjust_pvalues, aggregate_seeds
from loradyn.store import read_dynamics

#: Metrics correlated with annotation entropy in ``stats.json`` (rho, its p-value and Kendall's tau for each).
CORRELATED = ("aulc", "delta_loss", "late_unlearning", "loss_slope", "final_loss", "confidence", "variability")
#: Metrics whose rho also gets a bootstrap CI by default: the first study's two headline measures.
WITH_CI = ("aulc", "delta_loss")
#: Covariates of the partial correlation, as in the first study (gold label enters as one-hot columns).
COVARIATES = ("premise_words", "hypothesis_words", "total_words", "majority_confidence")


def example_metrics(run_dir: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Per-example metrics of a run's tracked items from its probe (and inline) rows, joined to annotations.

    Returns the table and a note of what was dropped: probe rows with a NaN or infinite loss are dropped and
    counted (``dropped_rows``), never silently used.
    """
    run_dir = Path(run_dir)
    dynamics = read_dynamics(run_dir)
    if "target" in dynamics:
        dynamics = dynamics[dynamics["target"] == "original"]
    probes = dynamics[dynamics["mode"] == "probe"]
    finite = np.isfinite(probes["loss"].to_numpy())
    note = {"dropped_rows": int((~finite).sum())}
    probes = probes[finite]
    if probes["step"].nunique() < 2:
        raise DataError(
            f"only {probes['step'].nunique()} probe checkpoint(s); learning-curve metrics need at least 2",
            path=run_dir / "dynamics.parquet",
            field="checkpoint",
            fix="record more probes (probe_every) or train longer",
        )
    ids, steps, (loss, p_gold, correct) = curves.checkpoint_matrices(
        probes.assign(correct=probes["pred"] == probes["label"]), ("loss", "p_gold", "correct")
    )
    correct = correct == 1
    table = pd.DataFrame(
        {
            "example_id": ids,
            "aulc": curves.aulc(loss),
            "aulc_trapezoid": curves.aulc(loss, steps, method="trapezoid"),
            "delta_loss": curves.delta_loss(loss),
            "late_unlearning": curves.late_unlearning(loss),
            "late_slope": curves.late_unlearning(loss, steps, kind="slope"),
            "loss_slope": curves.loss_slope(loss, steps),
            "final_loss": loss[:, -1],
            "final_correct": correct[:, -1],
            "first_learned": curves.first_learned(p_gold),
            "forgetting_events": curves.forgetting_events(correct),
        }
    )
    table = pd.concat([table, data_map(p_gold, correct)], axis=1)
    if "probs" in probes:
        last = probes[probes["step"] == probes["step"].max()].set_index("example_id").loc[ids]
        probs = np.stack(last["probs"].to_numpy())
        table["final_confidence"] = probs.max(axis=1)
        table["prediction_entropy"] = prediction_entropy(probs)
    inline = dynamics[dynamics["mode"] == "inline"]
    if len(inline):
        # The original data map, from the training pass: one point per epoch
        epoch_ids, _, (epoch_p, epoch_correct) = curves.checkpoint_matrices(
            inline.assign(correct=inline["pred"] == inline["label"]), ("p_gold", "correct"), by="epoch"
        )
        training_map = data_map(epoch_p, epoch_correct == 1).drop(columns="region").add_prefix("inline_")
        table = table.join(aum(inline), on="example_id").join(training_map.set_index(epoch_ids), on="example_id")
    examples_path = run_dir / "examples.parquet"
    if not examples_path.is_file():
        raise DataError("no examples.parquet in the run directory", path=examples_path, fix="re-record the run")
    examples = pd.read_parquet(examples_path).set_index("example_id")
    unknown = sorted(set(ids) - set(examples.index))
    if len(unknown):
        raise DataError(
            f"{len(unknown)} example ids in the dynamics have no annotations, e.g. {list(unknown[:3])}",
            path=examples_path,
            field="example_id",
            fix="dynamics and examples.parquet must come from the same run",
        )
    keep = [c for c in ("entropy", "category", "original_label", *COVARIATES) if c in examples]
    return table.join(examples[keep], on="example_id"), note


def run_statistics(
    metrics: pd.DataFrame, *, bootstrap: Bootstrap, with_ci: tuple[str, ...] = WITH_CI
) -> dict[str, Any]:
    """The first study's statistics for one run's metrics table (see `example_metrics`). The metrics in
    ``with_ci`` get percentile bootstrap intervals, all from the same item resamples of ``bootstrap``."""
    if "entropy" not in metrics or metrics["entropy"].isna().any():
        raise DataError("tracked items without annotation entropy", field="entropy", fix="track annotated items")
    entropy = metrics["entropy"].to_numpy()
    correlations = {}
    for name in CORRELATED:
        values = metrics[name].to_numpy()
        if not np.all(np.isfinite(values)):
            raise DataError(f"metric {name} has NaN or infinite values", field=name, fix="check the run's dynamics")
        if name in with_ci:
            result = spearman_ci(values, entropy, bootstrap=bootstrap).to_dict()
        else:
            rho = stats.spearmanr(values, entropy)
            result = {"estimate": float(rho.statistic), "pvalue": float(rho.pvalue), "n": len(values)}
        correlations[name] = result | {"kendall_tau": float(stats.kendalltau(values, entropy).statistic)}
    out: dict[str, Any] = {"n_items": len(metrics), "spearman": correlations}
    covariates = [c for c in COVARIATES if c in metrics]
    if covariates and "original_label" in metrics:
        labels = pd.get_dummies(metrics["original_label"], drop_first=True, dtype=float).to_numpy()
        design = np.column_stack([metrics[covariates].to_numpy(dtype=float), labels])
        out["partial_spearman_aulc"] = partial_spearman(metrics["aulc"], entropy, design).to_dict()
        out["spearman_aulc_within_label"] = spearman_by_group(metrics["aulc"], entropy, metrics["original_label"])
    out["hierarchical_regression_aulc"] = hierarchical_regression(
        metrics["aulc"], metrics[["confidence", "variability"]], entropy
    ).to_dict()
    if "final_confidence" in metrics and "category" in metrics:
        out["calibration_by_category"] = _calibration(metrics)
    if "category" in metrics:
        out["unlearning_share_by_category"] = (metrics["delta_loss"] > 0).groupby(metrics["category"]).mean().to_dict()
    return out


def _calibration(metrics: pd.DataFrame) -> dict[str, dict[str, float]]:
    """ECE (15 bins), mean prediction entropy and accuracy at the last probe, per entropy category."""
    out = {}
    for category, group in metrics.groupby("category"):
        confidence = group["final_confidence"].to_numpy()
        correct = group["final_correct"].to_numpy()
        out[str(category)] = {
            "ece": expected_calibration_error(confidence, correct),
            "prediction_entropy": float(group["prediction_entropy"].mean()),
            "accuracy": float(correct.mean()),
            "n": len(group),
        }
    return out


def _condition(run_dir: Path) -> str:
    """Runs of one condition share every config field but the seed (and where their data came from)."""
    config = json.loads((run_dir / "run.json").read_text()).get("config", {})
    return json.dumps({k: v for k, v in sorted(config.items()) if k not in ("seed", "data_dir")})


@lru_cache(maxsize=2)
def _bootstrap(n: int, n_resamples: int, seed: int) -> Bootstrap:
    """One set of resamples per item count, per process: runs over the same items share it (common random
    numbers), and entropy is ranked once."""
    return Bootstrap(n, n_resamples=n_resamples, seed=seed)


def analyze_run(run_dir: Path, *, n_resamples: int, seed: int, with_ci: tuple[str, ...]) -> dict[str, Any]:
    """Metrics and statistics of one run, written into it; returns the statistics."""
    metrics, note = example_metrics(run_dir)
    boot = _bootstrap(len(metrics), n_resamples, seed)
    result = {"run": run_dir.name, **note, **run_statistics(metrics, bootstrap=boot, with_ci=with_ci)}
    write_atomic(run_dir / "metrics.parquet", lambda tmp: metrics.to_parquet(tmp, index=False))
    write_json(run_dir / "stats.json", result)
    return result


def analyze(
    run_dirs: list[str | os.PathLike[str]],
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
    with_ci: tuple[str, ...] = WITH_CI,
    workers: int = 2,
) -> dict[str, Any]:
    """Analyse run directories (each alone, in ``workers`` processes) and aggregate runs of one condition across
    seeds. Runs over the same items share one set of bootstrap resamples (common random numbers)."""
    dirs = [Path(d) for d in run_dirs]
    for d in dirs:
        if not (d / "run.json").is_file():
            raise DataError("not a run directory (no run.json)", path=d, fix="point at directories made by loradyn")
    job = partial(analyze_run, n_resamples=n_resamples, seed=seed, with_ci=with_ci)
    if workers > 1 and len(dirs) > 1:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(job, dirs))
    else:
        results = [job(d) for d in dirs]
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d, result in zip(dirs, results, strict=True):
        groups[_condition(d)].append(result)
    conditions = [
        {
            "runs": [r["run"] for r in members],
            "spearman": {m: aggregate_seeds([r["spearman"][m]["estimate"] for r in members]) for m in CORRELATED},
        }
        for members in groups.values()
    ]
    # The runs are a family of tests of rho(AULC, entropy) = 0: adjust their p-values together.
    pvalues = [r["spearman"]["aulc"]["pvalue"] for r in results]
    family = [r["run"] for r in results]
    for d, r, holm, bh in zip(
        dirs, results, adjust_pvalues(pvalues), adjust_pvalues(pvalues, method="fdr_bh"), strict=True
    ):
        r["spearman"]["aulc"] |= {"pvalue_holm": float(holm), "pvalue_bh": float(bh)}
        r["family"] = family
        write_json(d / "stats.json", r)
    return {"runs": results, "conditions": conditions}

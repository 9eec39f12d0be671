"""``loradyn analyze``: per-example metrics and the first study's statistics, from run directories alone.

Into each run directory this writes ``metrics.parquet`` (one row per tracked example, see
`loradyn.metrics.table`) and ``stats.json`` (how the metrics follow annotation entropy, see
`loradyn.stats.entropy`; a pure function of the run and the analysis options, whichever runs it is analysed
with). Family-level results go to ``analysis.json`` beside the runs: runs that differ only in their seed are
aggregated into conditions, and every test of every run is one family for multiple-testing adjustment.
Everything is computed and checked before anything is written.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loradyn.errors import DataError
from loradyn.io import check_writable, json_writer, read_json, read_parquet, write_files
from loradyn.metrics.table import example_metrics
from loradyn.stats.entropy import CORRELATED, WITH_CI, entropy_statistics
from loradyn.stats.gradients import gradient_cosine_summary, gradient_norm_statistics
from loradyn.stats.seeds import adjust_pvalues, aggregate_seeds
from loradyn.store import GRADIENT_NORMS
from loradyn.train.config import stored_config, trained_fields

ANALYSIS_JSON = "analysis.json"


def _config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "run.json"
    if not path.is_file():
        raise DataError("not a run directory (no run.json)", path=run_dir, fix="point at directories made by loradyn")
    run = read_json(path, fix="re-record the run")
    return stored_config(run.get("config") if isinstance(run, dict) else None, path)


def analyze_run(run_dir: Path, *, n_resamples: int, seed: int, with_ci: tuple[str, ...]) -> dict[str, Any]:
    """Metrics and statistics of one run (nothing written): ``{"metrics": DataFrame, "stats": dict}``."""
    metrics, note = example_metrics(run_dir)
    options = {"n_resamples": n_resamples, "seed": seed, "with_ci": list(with_ci)}
    result: dict[str, Any] = {"run": run_dir.name, "options": options, **note}
    if "entropy" in metrics and metrics["entropy"].notna().any():
        result |= entropy_statistics(metrics, n_resamples=n_resamples, seed=seed, with_ci=with_ci)
    else:
        result |= {"n_items": len(metrics), "tests": [], "entropy": "the tracked items have no annotation entropy"}
    return {"metrics": metrics, "stats": result | _gradient_statistics(run_dir, metrics)}


def _gradient_statistics(run_dir: Path, metrics: pd.DataFrame) -> dict[str, Any]:
    """The gradient measurements a run recorded (``gradient_cosine``, ``gradient_norms``), summarised."""
    out: dict[str, Any] = {}
    history = read_json(run_dir / "run.json", fix="re-record the run").get("gradient_cosine")
    if history:
        out["gradient_cosine"] = gradient_cosine_summary(history)
    path = run_dir / GRADIENT_NORMS
    if path.is_file() and "entropy" in metrics:
        norms = read_parquet(path, fix="re-record the run").merge(metrics, on="example_id", how="inner")
        out["gradient_norms"] = gradient_norm_statistics(norms["grad_norm"], norms["entropy"], norms["category"])
    return out


def analyze(
    run_dirs: list[str | os.PathLike[str]],
    *,
    out: str | os.PathLike[str] | None = None,
    n_resamples: int = 10_000,
    seed: int = 0,
    with_ci: tuple[str, ...] = WITH_CI,
    workers: int = 2,
    force: bool = False,
) -> dict[str, Any]:
    """Analyse run directories (each alone, in ``workers`` processes), aggregate runs of one condition across
    seeds, adjust every test's p-value over the family of runs, and write the results.

    ``out`` is the folder for ``analysis.json`` (default: the runs' common folder: a sweep's folder, or the run
    itself when there is one). An existing ``analysis.json`` of another family of runs (one that is not a part of
    this one), or a ``stats.json`` made with other options, is kept unless ``force``.
    """
    dirs = [Path(d) for d in run_dirs]
    configs = [_config(d) for d in dirs]
    _check_each_run_once(dirs, configs)
    target = Path(out) if out is not None else Path(os.path.commonpath([d.resolve() for d in dirs]))
    runs = [d.name for d in dirs]
    if not force:
        _check_kept(target / ANALYSIS_JSON, "runs", runs)
        for d in dirs:
            _check_kept(
                d / "stats.json", "options", {"n_resamples": n_resamples, "seed": seed, "with_ci": list(with_ci)}
            )
    outputs = [target / ANALYSIS_JSON, *(d / name for d in dirs for name in ("metrics.parquet", "stats.json"))]
    check_writable(outputs)  # before the work, so that a folder in the way does not cost the analysis
    job = partial(analyze_run, n_resamples=n_resamples, seed=seed, with_ci=with_ci)
    if workers > 1 and len(dirs) > 1:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(job, dirs))
    else:
        results = [job(d) for d in dirs]
    stats = [r["stats"] for r in results]
    family = {
        "runs": runs,
        "conditions": _conditions(dirs, configs, results),
        "family": _family(stats),
    }
    writers: dict[Path, Callable[[Path], None]] = {}
    for d, r in zip(dirs, results, strict=True):
        writers[d / "metrics.parquet"] = lambda tmp, m=r["metrics"]: m.to_parquet(tmp, index=False)
        writers[d / "stats.json"] = json_writer(r["stats"])
    write_files({**writers, target / ANALYSIS_JSON: json_writer(family)})  # all or nothing
    return {**family, "runs": stats, "written": [str(target / ANALYSIS_JSON), *(str(d) for d in dirs)]}


def _check_each_run_once(dirs: list[Path], configs: list[dict[str, Any]]) -> None:
    """Refuse a run given twice: the same folder (a link to it included), or two folders of one condition with
    one seed (a copy), which would count as two seeds with an SD of 0."""
    seen: dict[Any, Path] = {}
    for d, config in zip(dirs, configs, strict=True):
        for key in (
            d.resolve(),
            json.dumps({k: v for k, v in sorted(trained_fields(config).items()) if k != "data_dir"}),
        ):
            if key in seen:
                same = "is the same folder as" if isinstance(key, Path) else "has the configuration and seed of"
                raise DataError(
                    f"{d} {same} {seen[key]}: one run would count twice (as two seeds)",
                    path=d,
                    fix="pass each run once (remove the copy or the link)",
                )
            seen[key] = d


def _check_kept(path: Path, key: str, expected: Any) -> None:
    """Refuse to replace a result made for other runs or with other options (an analysis of some of these runs,
    made before the rest finished, is replaced)."""
    if not path.is_file():
        return
    try:
        previous = json.loads(path.read_text(encoding="utf-8")).get(key)
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        previous = None
    grown = key == "runs" and isinstance(previous, list) and set(previous) <= set(expected)  # the sweep went on
    if previous != expected and not grown:
        raise DataError(
            f"exists and was made {'for other runs' if key == 'runs' else 'with other options'} ({previous})",
            path=path,
            fix="pass --force to replace it, or --out another folder",
        )


def _conditions(dirs: list[Path], configs: list[dict[str, Any]], results: list[dict[str, Any]]) -> list[dict]:
    """Runs that share every config field but the seed (and where their data came from) are one condition: rho
    mean and SD across seeds (ddof = 1, as the first study's Table 1), the mean of the per-seed bootstrap bounds
    (the study's condition-level CI), and mean delta loss per category (its un-learning table)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, config in enumerate(configs):
        trained = trained_fields(config)  # what a method does not read does not set conditions apart
        groups[json.dumps({k: v for k, v in sorted(trained.items()) if k not in ("seed", "data_dir")})].append(i)
    conditions = []
    for key, members in groups.items():
        tracked = {frozenset(results[i]["metrics"]["example_id"]) for i in members}
        if len(tracked) > 1:
            raise DataError(
                "runs of one condition track different examples, so their seeds cannot be aggregated",
                path=dirs[members[0]],
                fix="analyse runs of one condition that track the same items",
            )
        stats = [results[i]["stats"] for i in members]
        spearman = {}
        for metric in CORRELATED:
            per_seed = [s["spearman"][metric] for s in stats if metric in s.get("spearman", {})]
            if len(per_seed) == len(stats):
                spearman[metric] = aggregate_seeds([r["estimate"] for r in per_seed])
                if all("low" in r for r in per_seed):
                    spearman[metric]["ci_mean_of_seed_bounds"] = [
                        float(np.mean([r["low"] for r in per_seed])),
                        float(np.mean([r["high"] for r in per_seed])),
                    ]
        unlearning = [s["unlearning"]["delta_loss_mean"] for s in stats if s.get("unlearning")]
        conditions.append(
            {
                "condition": json.loads(key),
                "runs": [dirs[i].name for i in members],
                "spearman": spearman,
                "delta_loss_mean_by_category": pd.DataFrame(unlearning).mean().to_dict() if unlearning else {},
            }
        )
    return conditions


def _family(stats: list[dict[str, Any]]) -> dict[str, Any]:
    """Every test of every run as one family: Holm (family-wise) and Benjamini-Hochberg (false discovery rate)
    adjusted p-values; tests whose p-value is undefined are listed and left out of the adjustment."""
    rows = pd.DataFrame([{"run": s["run"], **t} for s in stats for t in s["tests"]], columns=["run", "test", "pvalue"])
    defined = rows["pvalue"].notna()
    rows["pvalue_holm"] = np.nan
    rows["pvalue_bh"] = np.nan
    if defined.any():
        rows.loc[defined, "pvalue_holm"] = adjust_pvalues(rows.loc[defined, "pvalue"])
        rows.loc[defined, "pvalue_bh"] = adjust_pvalues(rows.loc[defined, "pvalue"], method="bh")
    return {"n_tests": int(defined.sum()), "tests": rows.to_dict("records")}

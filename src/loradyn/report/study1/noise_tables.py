"""The first study's noise-injection test (its scripts 10, 13 and 19), on runs with ``noise_scope: clean_tracked``.

Per seed, the clean tracked items (entropy < 0.4), flipped or not, are paired across the control run (noise rate
0) and each noisy run of that seed; their AULC is compared with a one-sided paired Wilcoxon signed-rank test
(alternative "greater": noise raises the clean items' AULC) and a paired Cohen's d (mean difference over the SD of
the differences, ddof 1), as the study's script 10 does for seed 42. Per noise rate, the clean items' mean AULC
over seeds is given with its SD with ddof 0 and the seed-level paired d, as its script 19 aggregates them.
"""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pandas as pd
from scipy import stats

from loradyn.data.annotations import CATEGORY_THRESHOLDS
from loradyn.report.study1.runs import Condition, SweepRun
from loradyn.report.table import DASH, Table, num, pm, pvalue, signed

CLEAN_BELOW = CATEGORY_THRESHOLDS[0]


def noise_groups(conditions: list[Condition]) -> dict[str, dict[float, list[SweepRun]]]:
    """Runs of clean-tracked noise conditions, by everything but the noise rate, then by noise rate."""
    groups: dict[str, dict[float, list[SweepRun]]] = defaultdict(dict)
    for c in conditions:
        if c.config.get("noise_scope") == "clean_tracked" and all(r.has_entropy for r in c.runs):
            key = json.dumps({k: v for k, v in sorted(c.config.items()) if k != "noise_rate"}, default=str)
            groups[key][float(c.config.get("noise_rate") or 0.0)] = c.runs
    return {k: dict(sorted(v.items())) for k, v in groups.items() if len(v) > 1 and 0.0 in v}


def clean_pairs(control: SweepRun, noisy: SweepRun) -> pd.DataFrame:
    """The clean tracked items (entropy < 0.4 in the control run) with a finite AULC in both runs: ``aulc_control``,
    ``aulc_noisy`` and ``flipped`` (the noisy run trained on a wrong label)."""
    a = control.metrics.set_index("example_id")
    b = noisy.metrics.set_index("example_id")
    clean = a.index[a["entropy"].to_numpy(dtype=float) < CLEAN_BELOW]
    pairs = pd.DataFrame(
        {
            "aulc_control": a.loc[clean, "aulc"].astype(float),
            "aulc_noisy": b["aulc"].reindex(clean).astype(float),
            "flipped": b["is_noisy"].reindex(clean).fillna(False).astype(bool)
            if "is_noisy" in b
            else pd.Series(False, index=clean),
        }
    )
    return pairs[np.isfinite(pairs[["aulc_control", "aulc_noisy"]]).all(axis=1)]


def paired_test(pairs: pd.DataFrame) -> dict[str, float]:
    """One-sided paired Wilcoxon (noisy greater than control) and paired Cohen's d (ddof 1)."""
    diff = (pairs["aulc_noisy"] - pairs["aulc_control"]).to_numpy()
    if len(diff) < 2 or not np.any(diff):
        return {"wilcoxon_statistic": np.nan, "pvalue": np.nan, "cohens_d": np.nan, "mean_difference": np.nan}
    test = stats.wilcoxon(diff, alternative="greater")
    sd = diff.std(ddof=1)
    return {
        "wilcoxon_statistic": float(test.statistic),
        "pvalue": float(test.pvalue),
        "cohens_d": float(diff.mean() / sd) if sd > 0 else np.nan,
        "mean_difference": float(diff.mean()),
    }


def noise_tables(conditions: list[Condition]) -> tuple[Table, Table] | None:
    """The per-seed tests and the per-rate summary, or None when the sweep has no clean-tracked noise runs with a
    control."""
    groups = noise_groups(conditions)
    if not groups:
        return None
    label = {key: group_label(conditions, key) for key in groups}
    rows, data, summary_rows, summary_data = [], [], [], []
    for key, by_rate in groups.items():
        controls = {r.seed: r for r in by_rate[0.0]}
        per_rate: dict[float, list[tuple[float, float]]] = defaultdict(list)
        for rate, runs in by_rate.items():
            for run in runs:
                control = controls.get(run.seed)
                if control is None:
                    continue
                pairs = clean_pairs(control, run)
                per_rate[rate].append((float(pairs["aulc_noisy"].mean()), float(pairs["aulc_control"].mean())))
                if rate == 0.0:
                    continue
                test = paired_test(pairs)
                rows.append(
                    [
                        label[key],
                        str(run.seed),
                        f"{rate:g}",
                        f"{len(pairs):,}",
                        f"{int(pairs['flipped'].sum()):,}",
                        num(pairs["aulc_control"].mean()),
                        num(pairs["aulc_noisy"].mean()),
                        signed(test["mean_difference"]),
                        num(test["cohens_d"], 2),
                        pvalue(test["pvalue"]),
                    ]
                )
                data.append(
                    {
                        "group": label[key],
                        "seed": run.seed,
                        "noise_rate": rate,
                        "n_clean": len(pairs),
                        "n_flipped": int(pairs["flipped"].sum()),
                        "aulc_control": float(pairs["aulc_control"].mean()),
                        "aulc_noisy": float(pairs["aulc_noisy"].mean()),
                        **test,
                    }
                )
        for rate, values in per_rate.items():
            means = np.array([v[0] for v in values])
            diffs = means - np.array([v[1] for v in values])
            seed_d = diffs.mean() / diffs.std(ddof=1) if rate and len(diffs) > 1 and diffs.std(ddof=1) > 0 else np.nan
            sd = means.std(ddof=0) if len(means) > 1 else np.nan
            summary_rows.append([label[key], f"{rate:g}", str(len(means)), pm(means.mean(), sd), num(seed_d, 2)])
            summary_data.append(
                {
                    "group": label[key],
                    "noise_rate": rate,
                    "n_seeds": len(means),
                    "clean_aulc_mean": means.mean(),
                    "clean_aulc_sd": sd,
                    "seed_level_d": seed_d,
                }
            )
    tests = Table(
        "noise_tests",
        "Noise injection: clean items' AULC, each noisy run against the control run of its seed",
        [
            "runs",
            "seed",
            "noise rate",
            "clean items",
            "flipped",
            "AULC control",
            "AULC noisy",
            "mean Δ",
            "Cohen's d",
            "Wilcoxon p (one-sided)",
        ],
        rows or [[DASH] * 10],
        [
            "Clean tracked items (H < 0.4), flipped or not, paired by item; one-sided paired Wilcoxon signed-rank "
            "test (noisy > control) and paired Cohen's d (ddof 1): the study's test (its script 10, for seed 42).",
            "These p-values are outside the analysis family of the multiple-testing table.",
        ],
        pd.DataFrame(data),
    )
    summary = Table(
        "noise_summary",
        "Noise injection: mean AULC of the clean items per noise rate",
        ["runs", "noise rate", "seeds", "clean AULC mean ± SD", "seed-level paired d"],
        summary_rows,
        [
            "Per seed the clean items' mean AULC; mean ± SD (ddof 0) over seeds and the paired d of the per-seed "
            "differences from the control (ddof 1), as the study's script 19 aggregates them."
        ],
        pd.DataFrame(summary_data),
    )
    return tests, summary


def group_label(conditions: list[Condition], key: str) -> str:
    """A noise group's name: model, data and adapter."""
    for c in conditions:
        if json.dumps({k: v for k, v in sorted(c.config.items()) if k != "noise_rate"}, default=str) == key:
            return ", ".join(p for p in (c.model, c.dataset, c.adapter) if p)
    return key

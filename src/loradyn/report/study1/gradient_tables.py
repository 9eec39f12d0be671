"""The first study's gradient measurements, per run: the clean-contested gradient cosine over training (its script
17) and per-example gradient norms by entropy category with a Kruskal-Wallis test (its script 10)."""

from __future__ import annotations

import pandas as pd

from loradyn.data.annotations import CATEGORIES
from loradyn.report.study1.runs import Condition
from loradyn.report.table import DASH, Table, num, pvalue


def _measured(conditions: list[Condition], key: str):
    return [(c, r, r.stats[key]) for c in conditions for r in c.runs if r.stats.get(key)]


def gradient_cosine_table(conditions: list[Condition]) -> Table | None:
    """Per run: the cosine at the first and last probe, its lowest value and its trend over training."""
    found = _measured(conditions, "gradient_cosine")
    if not found:
        return None
    rows, data = [], []
    for c, r, g in found:
        rows.append(
            [c.label, str(r.seed), str(len(g["steps"])), num(g["first"]), num(g["last"]), num(g["min"]),
             num(g["trend_rho"]), pvalue(g["trend_p"])]
        )  # fmt: skip
        data.append({"condition": c.label, "run": r.name, "seed": r.seed, **g})
    return Table(
        "gradient_cosine",
        "Cosine between the mean gradients of the clean and the contested tracked items, over training",
        ["condition", "seed", "checkpoints", "first (step 0)", "last", "lowest", "trend ρ", "trend p"],
        rows,
        [
            "At every probe, in train mode as the study measured it: the mean over the clean (H < 0.4) and over the "
            "contested (H ≥ 0.7) items of each one's gradient of its unweighted cross-entropy, over every trainable "
            "parameter, and the cosine between the two means (`gradient_cosine` in `run.json`). Trend: Spearman ρ of "
            "the cosine against the step; negative when the two groups' gradients part as training goes on (the "
            "study's competitive-dynamics reading)."
        ],
        pd.DataFrame(data),
    )


def gradient_norm_table(conditions: list[Condition]) -> Table | None:
    """Per run: mean (SD) gradient norm per entropy category, Spearman rho with entropy, Kruskal-Wallis H and p."""
    found = _measured(conditions, "gradient_norms")
    if not found:
        return None
    rows, data = [], []
    for c, r, g in found:
        cells = []
        for category in CATEGORIES:
            s = g["by_category"].get(category)
            cells.append(DASH if s is None else f"{num(s['mean'])} ({num(s['sd'])}), n = {s['n']}")
        rows.append(
            [c.label, str(r.seed), *cells, num(g["spearman_rho"]), num(g["kruskal_h"], 2), pvalue(g["kruskal_p"])]
        )
        data.append({"condition": c.label, "run": r.name, "seed": r.seed, **g})
    return Table(
        "gradient_norms",
        "Per-example gradient norms on the final model, by entropy category",
        ["condition", "seed", *(f"{c}: mean (SD)" for c in CATEGORIES), "ρ(norm, H)", "Kruskal–Wallis H", "p"],
        rows,
        [
            "Each tracked item's gradient norm of its unweighted cross-entropy over every trainable parameter, in "
            "eval mode, one item at a time (`gradient_norms.parquet`); SD with ddof 0 and a Kruskal–Wallis test "
            "across the three categories, as the study's script 10 reports them."
        ],
        pd.DataFrame(data),
    )

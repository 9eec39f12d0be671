"""Un-learning per entropy category: the first study's table (mean Δloss, LoRA beside full fine-tuning), the share
of items learned then lost, and the entropy category against the data map's region (its scripts 09 and 10)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from loradyn.data.annotations import CATEGORIES
from loradyn.metrics.datamap import REGIONS
from loradyn.report.study1.correlation_tables import with_entropy
from loradyn.report.study1.runs import METHOD_ORDER, Condition, adapter_groups
from loradyn.report.table import DASH, Table, num, share, signed

#: A condition has learned its tracked items when their clean ones' loss fell by at least this much (nats, about a
#: tenth of ln 3) from step 0 to the end: only then can its contested items be said to un-learn, or not.
LEARNED_CLEAN_DELTA = -0.1


def _with_categories(conditions: list[Condition]) -> list[Condition]:
    return [c for c in with_entropy(conditions) if c.summary.get("delta_loss_mean_by_category")]


def unlearning_table(conditions: list[Condition]) -> Table | None:
    """Mean delta loss (final - step 0) of clean and contested items per condition, as the study's un-learning table
    (each cell the mean over seeds of per-run means), adapters side by side for each model and data set."""
    entries = _with_categories(conditions)
    if not entries:
        return None
    adapters = sorted({(METHOD_ORDER.get(c.method, 9), c.rank or 0, c.adapter) for c in entries})
    columns = ["model, data"]
    for *_, adapter in adapters:
        columns += [f"{adapter}: clean Δ", f"{adapter}: contested Δ"]
    rows, data = [], []
    for group in adapter_groups(entries).values():
        by_adapter = {c.adapter: c for c in group}
        cells = [group[0].base]
        for *_, adapter in adapters:
            c = by_adapter.get(adapter)
            delta = c.summary["delta_loss_mean_by_category"] if c else {}
            cells += [signed(delta.get("clean")), signed(delta.get("contested"))]
        rows.append(cells)
        for c in group:
            delta = c.summary["delta_loss_mean_by_category"]
            data.append(
                {
                    "condition": c.label,
                    "base": c.base,
                    "adapter": c.adapter,
                    "method": c.method,
                    **{category: delta.get(category, np.nan) for category in CATEGORIES},
                }
            )
    return Table(
        "unlearning",
        "Un-learning: mean Δloss (final − step 0 probe loss) of clean (H < 0.4) and contested (H ≥ 0.7) items",
        columns,
        rows,
        [
            "Each cell: the mean over seeds of each run's mean Δloss (the study's un-learning table). Positive: the "
            "items' loss rose over training (un-learning). A condition whose clean items' loss fell by less than "
            f"{num(-LEARNED_CLEAN_DELTA, 1)} did not learn its items, and the verdicts do not judge its un-learning."
        ],
        pd.DataFrame(data),
    )


def learned_then_lost_table(conditions: list[Condition]) -> Table | None:
    """Per condition and category, the share of items learned at a trained checkpoint but not at the last one
    (mean over seeds), and in how many runs the χ² test across categories gives p < 0.05."""
    entries = _with_categories(conditions)
    if not entries:
        return None
    rows, data = [], []
    for c in entries:
        blocks = [r.stats["unlearning"]["learned_then_lost"] for r in c.runs]
        shares = {g: _mean_share(blocks, g) for g in CATEGORIES}
        significant = sum((b["chi2_test"]["pvalue"] or 1) < 0.05 for b in blocks)
        rows.append([c.label, *(share(shares[g]) for g in CATEGORIES), f"{significant} of {len(blocks)}"])
        data.append({"condition": c.label, **shares, "chi2_significant_runs": significant, "n_runs": len(blocks)})
    return Table(
        "learned_then_lost",
        "Share of items learned, then lost, per entropy category",
        ["condition", *CATEGORIES, "runs with χ² p < 0.05"],
        rows,
        ["Learned: the argmax prediction is the label. Shares are means over seeds; χ² tests one rate for all three."],
        pd.DataFrame(data),
    )


def _mean_share(blocks: list[dict], group: str) -> float:
    values = [b["by_group"][group]["share"] for b in blocks if group in b["by_group"]]
    return float(np.mean(values)) if values else np.nan


def category_region_table(conditions: list[Condition]) -> Table | None:
    """Entropy category against the training-pass data map's region, counts summed over every run (the study's
    overlap matrix, script 10)."""
    runs = [r for c in with_entropy(conditions) for r in c.runs if "category" in r.metrics and "region" in r.metrics]
    frames = [r.metrics[["category", "region"]] for r in runs]
    if not frames:
        return None
    both = pd.concat(frames, ignore_index=True)
    without = int(both["region"].isna().sum())
    counts = pd.crosstab(both["category"], both["region"]).reindex(index=list(CATEGORIES), columns=list(REGIONS))
    counts = counts.fillna(0).astype(int)
    if counts.to_numpy().sum() == 0:
        return None
    rows = []
    for category, row in counts.iterrows():
        total = row.sum()
        rows.append([category, *(f"{n:,} ({n / total:.0%})" if total else DASH for n in row), f"{total:,}"])
    return Table(
        "category_region",
        "Entropy category × data-map region (training pass), items summed over runs",
        ["category", *REGIONS, "items"],
        rows,
        [
            f"{len(runs)} run{'s' if len(runs) != 1 else ''}; the region is Dataset Cartography's, from the "
            "training pass's per-epoch p(gold) (`metrics.parquet`). Row shares in brackets."
            + (f" {without:,} item-runs without a training-pass map are left out." if without else "")
        ],
        counts.reset_index(),
    )

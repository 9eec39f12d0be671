"""``docs/results/theory.md``: what the tools measured, beside what the second study's theory predicts."""

from __future__ import annotations

import os
import time

import pandas as pd

from loradyn.io import write_atomic


def write_theory_report(
    path: str | os.PathLike[str], curve: pd.DataFrame, transition: pd.Series, *, command: str
) -> None:
    """Write the memorisation section: the table, the figure, and a plain verdict on the bound."""
    ratios = sorted(curve["ratio"].unique())
    header = "| rank | bound r(d+k-r) | " + " | ".join(f"n = {r:g} x bound" for r in ratios) + " |"
    rule = "|---|---|" + "---|" * len(ratios)
    rows = [
        f"| {rank} | {group['bound'].iloc[0]:,} | "
        + " | ".join(f"{v:.2f}" for v in group.sort_values("ratio")["fitted"])
        + " |"
        for rank, group in curve.groupby("rank")
    ]
    above = curve[curve["ratio"] >= 2]
    holds_below = bool((curve[curve["ratio"] <= 0.25]["fitted"] >= 0.99).all())
    fails_above = bool((above["fitted"] < 0.9).all())
    verdict = (
        "Below a quarter of the bound every rank fits every random label: "
        f"{'holds' if holds_below else 'does NOT hold'}. From twice the bound on, no rank fits 90% of them: "
        f"{'holds' if fails_above else 'does NOT hold'}. "
        f"The largest n / bound at which all labels were still fitted is "
        + ", ".join(f"{'never' if ratio != ratio else f'{ratio:g}'} (r = {rank})" for rank, ratio in transition.items())
        + ": the transition sits at the order the dimension count predicts, a little below it, since fitting "
        "an example takes k - 1 inequalities at once and the fits are budget-limited (full-batch Adam, fixed steps)."
    )
    text = f"""# The second study's theory, measured

## Memorisation by a rank-r adapter

Made by `{command}` on {time.strftime("%Y-%m-%d")}; data in `memorisation.csv`.

A frozen random linear map (k x d) adapted by a rank-r update B A is trained on n inputs with uniformly random
labels. The second study's capacity argument says a rank-r update of a d x k matrix has r(d + k - r) degrees of
freedom, so arbitrary labels cannot all be fitted once n exceeds that order.

![fraction fitted](memorisation.png)

{header}
{rule}
{chr(10).join(rows)}

{verdict}

## Not measured yet

The optimal-rank experiment (accuracy across ranks x noise rates) and temporal separation of clean and noisy
examples from recorded dynamics are still to be built; `loradyn theory capacity` gives the bound for real models.
"""
    write_atomic(path, lambda tmp: tmp.write_text(text))

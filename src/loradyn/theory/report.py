"""``docs/results/theory.md``: what the theory tools measured, beside what the second study's theory predicts.

Each experiment command writes its data (``<name>.csv``), figure (``<name>.png``) and the command that made them
(``<name>.json``) into the results folder, then rebuilds ``theory.md`` from every experiment found there.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pandas as pd

from loradyn.io import check_writable, json_writer, write_atomic, write_files


def experiment_files(folder: Path, name: str) -> list[Path]:
    """The files `save_experiment` writes for ``name``, for commands to check before they compute anything."""
    return [*(folder / f"{name}.{suffix}" for suffix in ("csv", "png", "json")), folder / "theory.md"]


def save_experiment(folder: Path, name: str, table: pd.DataFrame, plot, *, command: str) -> None:
    """Write ``name``'s csv, png and provenance atomically, then rebuild ``theory.md``."""
    check_writable(experiment_files(folder, name))
    write_files(
        {
            folder / f"{name}.csv": lambda tmp: table.to_csv(tmp, index=False),
            folder / f"{name}.png": lambda tmp: plot(table, tmp),
            folder / f"{name}.json": json_writer({"command": command, "date": time.strftime("%Y-%m-%d")}),
        }
    )
    write_theory_report(folder)


def _made_by(folder: Path, name: str) -> str:
    meta = json.loads((folder / f"{name}.json").read_text())
    return f"Made by `{meta['command']}` on {meta['date']}; data in `{name}.csv`."


def _memorisation(folder: Path) -> str:
    from loradyn.theory.memorisation import transition_ratio

    curve = pd.read_csv(folder / "memorisation.csv")
    transition = transition_ratio(curve)
    ratios = sorted(curve["ratio"].unique())
    header = "| rank | bound r(d+k-r) | " + " | ".join(f"n = {r:g} x bound" for r in ratios) + " |"
    rule = "|---|---|" + "---|" * len(ratios)
    rows = [
        f"| {rank} | {group['bound'].iloc[0]:,} | "
        + " | ".join(f"{v:.2f}" for v in group.sort_values("ratio")["fitted"])
        + " |"
        for rank, group in curve.groupby("rank")
    ]
    holds_below = bool((curve[curve["ratio"] <= 0.25]["fitted"] >= 0.99).all())
    fails_above = bool((curve[curve["ratio"] >= 2]["fitted"] < 0.9).all())
    reach = ", ".join(f"{'never' if r != r else f'{r:g}'} (r = {rank})" for rank, r in transition.items())
    return f"""## Memorisation by a rank-r adapter

{_made_by(folder, "memorisation")}

A frozen random linear map (k x d) adapted by a rank-r update B A is trained on n inputs with uniformly random
labels. The capacity argument: a rank-r update of a d x k matrix has r(d + k - r) degrees of freedom, so arbitrary
labels cannot all be fitted once n exceeds that order.

![fraction fitted](memorisation.png)

{header}
{rule}
{chr(10).join(rows)}

Every rank fits every random label below a quarter of the bound: {"holds" if holds_below else "does NOT hold"}.
No rank fits 90% of them from twice the bound on: {"holds" if fails_above else "does NOT hold"}. The largest
n / bound at which all labels were still fitted: {reach}. Where it is reached, the transition sits at the order
the dimension count predicts, a little below it (fitting an example takes k - 1 inequalities at once, and the fits
are budget-limited: full-batch Adam, fixed steps); the curves of different ranks collapse when n is scaled by
r(d + k - r). A rank-1 update does not reach its bound at all.
"""


def _accuracy_table(grid: pd.DataFrame) -> tuple[str, str, list[str]]:
    """Markdown header, rule and rows of accuracy by rank (rows) and noise rate (columns)."""
    table = grid.pivot(index="rank", columns="noise_rate", values="accuracy")
    header = "| rank | " + " | ".join(f"noise {r:g}" for r in table.columns) + " |"
    rule = "|---|" + "---|" * len(table.columns)
    rows = [f"| {rank} | " + " | ".join(f"{v:.3f}" for v in row) + " |" for rank, row in table.iterrows()]
    return header, rule, rows


def _optimal_rank(folder: Path) -> str:
    from loradyn.theory.optimal_rank import best_rank

    grid = pd.read_csv(folder / "optimal_rank.csv")
    header, rule, rows = _accuracy_table(grid)
    best = best_rank(grid)
    falls = bool((best.diff().dropna() <= 0).all())
    strictly = bool(best.iloc[-1] < best.iloc[0])
    return f"""## The optimal rank under label noise (synthetic)

{_made_by(folder, "optimal_rank")}

A teacher labels Gaussian inputs with a frozen random base plus a low-rank shift; rank-r students adapt the same
base on labels with symmetric noise and are scored on clean held-out labels. The prediction: the best rank
balances bias (too low a rank) against fitting the noise (too high a rank), and falls as the noise rate rises.

![clean accuracy by rank and noise rate](optimal_rank.png)

{header}
{rule}
{chr(10).join(rows)}

Best rank per noise rate: {", ".join(f"{r:g}: r = {b}" for r, b in best.items())}. The best rank never rises with
the noise rate: {"holds" if falls else "does NOT hold"}; it is lower at the highest rate than without noise:
{"holds" if strictly else "does NOT hold"}. """


def _real_rank(folder: Path) -> str:
    from loradyn.theory.optimal_rank import best_rank

    grid = pd.read_csv(folder / "real_rank.csv")
    header, rule, rows = _accuracy_table(grid)
    best = best_rank(grid)
    rates = sorted(grid["noise_rate"].unique())
    if grid["rank"].nunique() < 2 or len(rates) < 2 or rates[0] != 0:
        verdict = "not tested here: it needs runs at two or more ranks, without noise and with it"
    else:
        verdict = "holds" if best.iloc[-1] < best.iloc[0] else "does NOT hold"
    seeds = ", ".join(sorted({str(n) for n in grid["n_seeds"]}))
    return f"""## The optimal rank on real data ({"; ".join(sorted(grid["setting"].unique()))}, LoRA)

{_made_by(folder, "real_rank")}

Final validation accuracy on clean held-out items of runs trained on labels with symmetric noise; the mean over
{seeds} seed(s) per cell (`real_rank.csv` has the SD).

![clean accuracy by rank, real data](real_rank.png)

{header}
{rule}
{chr(10).join(rows)}

Best rank per noise rate: {", ".join(f"{r:g}: r = {b}" for r, b in best.items())}. The best rank is lower at the
highest noise rate than without noise: {verdict} at this scale (each run's configuration is in its run.json).
"""


def _separation(folder: Path) -> str:
    table = pd.read_csv(folder / "separation.csv")
    rows = [
        f"| {r.rank} | {r.noise_rate:g} | {r.median_clean:g} | {r.median_noisy:g} | {r.gap:g} | "
        f"{r.never_clean:.1%} | {r.never_noisy:.1%} | {r.p_later:.2g} |"
        for r in table.itertuples()
    ]
    holds = bool((table["p_later"] < 0.05).all())
    return f"""## Temporal separation: clean examples are learned early, noisy ones late

{_made_by(folder, "separation")}

For each run trained on noisy labels: the step from which each tracked example stays learned against the label it
was trained on (its argmax prediction at every later probe); never-learned examples count as learned after the last
step.

![share learned by step](separation.png)

| rank | noise | median step clean | median step noisy | gap | never clean | never noisy | p (noisy later) |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Noisy examples are learned later than clean ones at every rank (one-sided Mann-Whitney p < 0.05):
{"holds" if holds else "does NOT hold"}. Medians equal to the last step + 1 mean that more than half of those
examples were never learned in the run; the never-learned shares then carry the separation.
"""


SECTIONS = {
    "memorisation": _memorisation,
    "optimal_rank": _optimal_rank,
    "real_rank": _real_rank,
    "separation": _separation,
}


def write_theory_report(folder: str | os.PathLike[str]) -> Path:
    """Rebuild ``theory.md`` from the experiments present in ``folder``."""
    folder = Path(folder)
    parts = [render(folder) for name, render in SECTIONS.items() if (folder / f"{name}.csv").is_file()]
    missing = [name for name in SECTIONS if not (folder / f"{name}.csv").is_file()]
    text = "# The second study's theory, measured\n\n" + "\n".join(part.rstrip() + "\n" for part in parts)
    if missing:
        text += "\n## Not measured yet\n\n" + "".join(f"- {name.replace('_', ' ')}\n" for name in missing)
    text += "\n`loradyn theory capacity --model NAME --rank R` gives the capacity bound for real models.\n"
    return write_atomic(folder / "theory.md", lambda tmp: tmp.write_text(text))

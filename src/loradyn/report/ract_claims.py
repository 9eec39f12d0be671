"""The second study's claims (i) to (iii) on the RACT page: memorisation against capacity, the optimal rank under
noise, and the temporal separation of clean and noisy items; each table and verdict computed from ``ract.json``."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from loradyn.theory.figures import figure


def pm(row: dict[str, Any] | None, key: str, *, digits: int = 3) -> str:
    """``mean ± SD`` over seeds of ``row``'s ``<key>_mean`` and ``<key>_sd``; the mean alone without an SD."""
    mean = None if row is None else row.get(f"{key}_mean")
    if mean is None:
        return "–"
    sd = row.get(f"{key}_sd")
    return f"{mean:.{digits}f}" if sd is None else f"{mean:.{digits}f} ± {sd:.{digits}f}"


def verdict(holds: bool) -> str:
    return "holds" if holds else "does NOT hold"


def _last_epochs(summary: dict[str, Any]) -> dict[tuple[float, int], dict[str, Any]]:
    """Per (noise rate, rank), the over-seeds row of the last epoch."""
    last: dict[tuple[float, int], dict[str, Any]] = {}
    for row in summary.get("memorisation_over_seeds", []):
        key = (row["noise_rate"], row["rank"])
        if key not in last or row["epoch"] > last[key]["epoch"]:
            last[key] = row
    return last


def memorisation_section(summary: dict[str, Any], figure_name: str | None) -> tuple[str, list[str]]:
    """Claim (i): the capacity of each rank against n, and the share of noisy labels each fits, per epoch."""
    capacity, config = summary.get("capacity"), summary["config"]
    rows = summary.get("memorisation_over_seeds", [])
    if capacity is None or not rows:
        return "No noisy setting was run, so memorisation was not measured.", []
    n, low, high = capacity["n_train"], config["low_rank"], config["high_rank"]
    dof = {int(rank): value for rank, value in capacity["dof"].items()}
    last = _last_epochs(summary)
    rates = sorted({rate for rate, _ in last})
    lines = [
        f"Capacity is r(d + k − r) summed over the adapted modules only ({', '.join(capacity['targets'])}: "
        f"{capacity['modules']} module(s); `loradyn theory capacity --model {config['model']} --rank r --targets "
        f"{','.join(capacity['targets'])}`); the classification head trains too and is the same at every rank. "
        f"Training items: n = {n:,}. Fitted: the training pass predicts the label trained on (for a noisy item, "
        "its wrong label), at the item's presentation in the last epoch.",
        "",
        "| rank | capacity | capacity / n | "
        + " | ".join(f"noisy fitted, {r:.0%} noise | clean fitted, {r:.0%} noise" for r in rates)
        + " |",
        "|---" * (3 + 2 * len(rates)) + "|",
    ]
    for rank in (low, high):
        cells = [f"{pm(last.get((r, rank)), 'noisy_fit')} | {pm(last.get((r, rank)), 'clean_fit')}" for r in rates]
        lines.append(f"| {rank} | {dof[rank]:,} | {dof[rank] / n:.2f} | " + " | ".join(cells) + " |")
    for rate in rates:
        epochs = sorted({row["epoch"] for row in rows if row["noise_rate"] == rate})
        at = {(row["rank"], row["epoch"]): row for row in rows if row["noise_rate"] == rate}
        lines += [
            "",
            f"**{rate:.0%} noise, per epoch** (mean ± SD over seeds)",
            "",
            f"| epoch | noisy fitted, r{low} | noisy fitted, r{high} | clean fitted, r{low} | clean fitted, r{high} |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {e} | {pm(at.get((low, e)), 'noisy_fit')} | {pm(at.get((high, e)), 'noisy_fit')} | "
            f"{pm(at.get((low, e)), 'clean_fit')} | {pm(at.get((high, e)), 'clean_fit')} |"
            for e in epochs
        ]
    if figure_name:
        lines += ["", f"![Noisy labels fitted over training, per rank]({figure_name})"]
    verdicts = [
        f"The ranks' capacities bracket the training set (r{low}: {dof[low]:,} < n = {n:,} < r{high}: {dof[high]:,}): "
        f"{verdict(capacity['brackets'])}."
    ]
    for rate in rates:
        lo, hi = last.get((rate, low)), last.get((rate, high))
        if lo is None or hi is None:
            continue
        verdicts.append(
            f"At {rate:.0%} noise, the rank-{high} adapter fits most noisy labels (≥ 90% at the end): "
            f"{verdict(hi['noisy_fit_mean'] >= 0.9)} ({hi['noisy_fit_mean']:.1%}); the rank-{low} adapter fits "
            f"clearly fewer (at least 10 points fewer): {verdict(hi['noisy_fit_mean'] - lo['noisy_fit_mean'] >= 0.1)} "
            f"({lo['noisy_fit_mean']:.1%})."
        )
    return "\n".join(lines), verdicts


def memorisation_figure(summary: dict[str, Any], path: str | Path) -> None:
    """Noisy labels fitted per epoch, one line per rank and noise rate (mean over seeds)."""
    rows = summary.get("memorisation_over_seeds", [])
    with figure(path) as ax:
        for rate in sorted({row["noise_rate"] for row in rows}):
            for rank, style in zip(sorted({row["rank"] for row in rows}), ("--", "-"), strict=False):
                points = sorted(
                    (r["epoch"], r["noisy_fit_mean"]) for r in rows if (r["noise_rate"], r["rank"]) == (rate, rank)
                )
                ax.plot(*zip(*points, strict=True), style, marker="o", label=f"r{rank}, {rate:.0%} noise")
        ax.set_xlabel("epoch")
        ax.set_ylabel("noisy items predicted as their wrong label")
        ax.set_ylim(0, 1)
        ax.legend(fontsize=8)


def separation_section(summary: dict[str, Any]) -> tuple[str, list[str]]:
    """Claim (iii): the median step from which clean and noisy items stay fitted, per rank and noise rate."""
    last = _last_epochs(summary)
    if not last:
        return "No noisy setting was run.", []
    lines = [
        "The step from which an item stays fitted to its training label in the training pass (median over the items "
        "that do, then mean ± SD over seeds), and the share never fitted for good by the end.",
        "",
        "| noise | rank | clean: median step | noisy: median step | clean never | noisy never |",
        "|---|---|---|---|---|---|",
    ]
    verdicts = []
    for (rate, rank), row in sorted(last.items()):
        lines.append(
            f"| {rate:.0%} | {rank} | {pm(row, 'clean_median_step', digits=0)} | "
            f"{pm(row, 'noisy_median_step', digits=0)} | {pm(row, 'clean_never')} | {pm(row, 'noisy_never')} |"
        )
        clean, noisy = row.get("clean_median_step_mean"), row.get("noisy_median_step_mean")
        if clean is not None and noisy is not None:
            verdicts.append(
                f"At {rate:.0%} noise, rank {rank}: clean items stay learned before noisy ones (median step): "
                f"{verdict(clean < noisy)} ({clean:.0f} vs {noisy:.0f})."
            )
        elif clean is not None:
            verdicts.append(
                f"At {rate:.0%} noise, rank {rank}: clean items stay learned at step {clean:.0f} (median); too few "
                "noisy items stay fitted to time them, so the separation is total."
            )
    return "\n".join(lines), verdicts


def rank_curve_section(summary: dict[str, Any]) -> tuple[str, list[str]]:
    """Claim (ii): clean-test accuracy over ranks and noise rates; whether the best rank falls as noise rises."""
    curve = summary.get("rank_curve") or []
    if not curve:
        return "Not run (no `rank_curve` in the configuration).", []
    rates = sorted({r["noise_rate"] for r in curve})
    ranks = sorted({r["rank"] for r in curve})
    at = {(r["noise_rate"], r["rank"]): r for r in curve}
    dof = {int(rank): value for rank, value in summary["capacity"]["dof"].items()}
    n = summary["capacity"]["n_train"]
    lines = [
        "Clean-test accuracy, mean ± SD over seeds; each rank trained on each noise rate's labels.",
        "",
        "| rank | capacity / n | " + " | ".join(f"{r:.0%} noise" for r in rates) + " |",
        "|---" * (2 + len(rates)) + "|",
    ]
    lines += [
        f"| {rank} | {dof[rank] / n:.2f} | " + " | ".join(pm(at.get((r, rank)), "accuracy") for r in rates) + " |"
        for rank in ranks
    ]
    best = {
        r: max((row for row in curve if row["noise_rate"] == r), key=lambda row: row["accuracy_mean"]) for r in rates
    }
    lines += ["", "Best rank: " + ", ".join(f"{best[r]['rank']} at {r:.0%}" for r in rates) + "."]
    order = [best[r]["rank"] for r in rates]
    falls = all(b <= a for a, b in itertools.pairwise(order)) and order[-1] < order[0]
    line = (
        f"The best rank falls as noise rises: {verdict(falls)} (best ranks {', '.join(map(str, order))} at "
        f"{', '.join(f'{r:.0%}' for r in rates)})."
    )
    return "\n".join(lines), [line]

"""How AULC follows annotation entropy, per condition: the first study's Table 1, rho by rank, the
Spearman-Kendall concordance and the quartile/tercile re-binning (its scripts 09, 03/11, 10).

Every function takes the conditions of a sweep (`loradyn.report.study1.sweep`) and returns a `Table` whose ``data``
holds the numbers; conditions without annotation entropy are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from loradyn.report.paper import STUDY1
from loradyn.report.study1.runs import Condition, rank_groups
from loradyn.report.table import DASH, Table, interval, num, p_is, pm, pvalue
from loradyn.stats.bootstrap import percentile_interval, shared_bootstrap
from loradyn.stats.seeds import aggregate_seeds

#: Runs needed before the concordance across runs gets a p-value (the t approximation of Spearman's test).
MIN_RUNS_FOR_P = 10
#: The first study's re-binning (its script 10, run_alt_binning): percentiles of the run's entropies.
REBINNING = {"quartiles": (25, 50, 75), "terciles": (33.33, 66.67)}


def with_entropy(conditions: list[Condition]) -> list[Condition]:
    return [c for c in conditions if c.runs and all(r.has_entropy for r in c.runs)]


def is_reference(c: Condition) -> bool:
    """roberta-base, LoRA r4, ChaosNLI-SNLI, clean labels: the condition the paper quotes rho ≈ 0.31 for."""
    return (
        c.model == "roberta-base"
        and c.method == "lora"
        and c.rank == 4
        and c.dataset == "chaosnli-snli"
        and not c.config.get("noise_rate")
    )


def seed_mean_rho_ci(c: Condition, *, n_resamples: int, seed: int, confidence: float = 0.95) -> dict[str, float | int]:
    """rho(AULC, entropy) averaged over the condition's seeds, with a percentile bootstrap CI over items.

    Every seed tracks the same items, so the items (those with a finite AULC and entropy in every run, in
    example-id order) are resampled once (`shared_bootstrap`, the analysis's resamples) and each resample's rho is
    averaged over seeds: the CI of the seed mean, which the mean of per-seed bounds (the study's) is not.
    """
    frames = [r.metrics.set_index("example_id")[["aulc", "entropy"]].astype(float) for r in c.runs]
    ids = sorted(set.intersection(*(set(f.index[np.isfinite(f).all(axis=1)]) for f in frames)))
    if len(ids) < 3:
        return {"estimate": np.nan, "low": np.nan, "high": np.nan, "n": len(ids)}
    boot = shared_bootstrap(len(ids), n_resamples, seed)
    replicates = np.zeros(n_resamples)
    estimates = []
    for f in frames:
        x, y = f.loc[ids, "aulc"].to_numpy(), f.loc[ids, "entropy"].to_numpy()
        replicates += boot.spearman(boot.centred_ranks(x), boot.centred_ranks(y))
        estimates.append(stats.spearmanr(x, y).statistic)
    low, high = percentile_interval(replicates / len(frames), confidence)
    return {"estimate": float(np.mean(estimates)), "low": low, "high": high, "n": len(ids)}


def table1(conditions: list[Condition], *, n_resamples: int, seed: int) -> Table:
    """rho(AULC, entropy) per condition: mean +- SD over seeds (ddof 1, as the study's Table 1), both CIs, and
    validation accuracy mean ± SD (ddof 1)."""
    low, high = STUDY1["rho_range"]
    rows, data = [], []
    for c in with_entropy(conditions):
        rho = c.summary["spearman"]["aulc"]
        author = rho.get("ci_mean_of_seed_bounds") or [np.nan, np.nan]
        ours = seed_mean_rho_ci(c, n_resamples=n_resamples, seed=seed)
        accuracies = [r.val_accuracy for r in c.runs if r.val_accuracy is not None]
        accuracy = aggregate_seeds(accuracies) if accuracies else {"mean": np.nan, "sd": np.nan}
        mean, sd = rho["mean"], rho["sd"]
        paper = f"≈ {STUDY1['roberta_lora_r4_snli']}" if is_reference(c) else f"in {low}–{high}"
        rows.append(
            [
                c.label,
                str(len(c.runs)),
                pm(mean, sd),
                interval(*author),
                interval(ours["low"], ours["high"]),
                pm(accuracy["mean"], accuracy["sd"]),
                paper,
            ]
        )
        data.append(
            {
                "condition": c.label,
                "n_seeds": len(c.runs),
                "rho_mean": mean,
                "rho_sd": sd,
                "ci_author_low": author[0],
                "ci_author_high": author[1],
                "ci_loradyn_low": ours["low"],
                "ci_loradyn_high": ours["high"],
                "ci_loradyn_n_items": ours["n"],
                "val_accuracy_mean": accuracy["mean"],
                "val_accuracy_sd": accuracy["sd"],
                "reference": is_reference(c),
                "decoder": c.decoder,
            }
        )
    return Table(
        "table1",
        "Table 1: Spearman ρ(AULC, annotation entropy) per condition",
        [
            "condition",
            "seeds",
            "ρ mean ± SD",
            "95% CI, the study's (mean of seed bounds)",
            "95% CI, loradyn's (items resampled, seed-mean ρ)",
            "val. accuracy mean ± SD",
            "paper",
        ],
        rows,
        [
            "SD over seeds with ddof = 1, as the paper's Table 1 (its script 09); the paper's DeBERTa, Qwen and IA3 "
            "means ± SD (scripts 12, 16, 15) are np.std, ddof = 0. The paper's roberta-base LoRA r4 and r16 SNLI rows "
            "reuse its pilot runs, whose bulk items were drawn with each run's seed (`bulk_seed: per-seed`); every "
            "other row drew them once with seed 42.",
            "The study's condition CI averages each seed's percentile bootstrap bounds; loradyn's resamples the items "
            f"once ({n_resamples:,} resamples) and takes the percentiles of the seed-mean ρ.",
            f"Validation accuracy: after the last epoch, majority labels. Paper: ρ from {low} to {high} over its 25 "
            f"conditions; roberta-base LoRA r4 SNLI ≈ {STUDY1['roberta_lora_r4_snli']}.",
        ],
        pd.DataFrame(data),
    )


def rank_tables(conditions: list[Condition]) -> tuple[Table, Table] | None:
    """rho by rank for LoRA conditions that differ only in rank, and the rank sweep's monotonicity: Spearman of
    rank against the seed-mean rho, with the author's gate (below -0.5; its scripts 03 and 11)."""
    groups = rank_groups(with_entropy(conditions))
    if not groups:
        return None
    rows, data, mono_rows, mono_data = [], [], [], []
    gate = STUDY1["rank_gate"]
    for group in groups:
        base = group[0].base
        for c in group:
            rho = c.summary["spearman"]["aulc"]
            rows.append([base, str(c.rank), str(len(c.runs)), pm(rho["mean"], rho["sd"])])
            data.append({"group": base, "rank": c.rank, "n_seeds": len(c.runs), "rho_mean": rho["mean"]})
        ranks = [c.rank for c in group]
        rhos = [c.summary["spearman"]["aulc"]["mean"] for c in group]
        if len(ranks) >= 3:
            result = stats.spearmanr(ranks, rhos)
            rho_s, p = float(result.statistic), float(result.pvalue)
            verdict = "passes" if rho_s < gate else "does NOT pass"
        else:
            rho_s, p, verdict = np.nan, np.nan, "not tested here (needs 3 ranks or more)"
        mono_rows.append([base, ", ".join(map(str, ranks)), num(rho_s), pvalue(p), verdict])
        mono_data.append({"group": base, "ranks": ranks, "rho_rank": rho_s, "pvalue": p, "gate_passed": rho_s < gate})
    by_rank = Table(
        "rank",
        "ρ(AULC, entropy) by LoRA rank (conditions that differ only in rank)",
        ["model, data", "rank", "seeds", "ρ mean ± SD"],
        rows,
        ["SD over seeds, ddof = 1. The study's rank sweep: ranks 1–32, seed 42 only."],
        pd.DataFrame(data),
    )
    monotonic = Table(
        "rank_monotonicity",
        "Rank-sweep monotonicity: Spearman of rank against ρ",
        ["model, data", "ranks", "Spearman(rank, ρ)", "p", f"the author's gate (< {num(gate, 1)})"],
        mono_rows,
        ["Over the seed-mean ρ of each rank (the author: one seed). The gate is the author's code's (scripts 03, 11)."],
        pd.DataFrame(mono_data),
    )
    return by_rank, monotonic


def concordance_table(conditions: list[Condition]) -> Table | None:
    """Spearman-Kendall concordance (the study's script 10): Spearman of the runs' rho against their tau-b, and per
    condition the mean tau-b and its ratio to the mean rho."""
    entries = with_entropy(conditions)
    runs = [r for c in entries for r in c.runs]
    if len(runs) < 3:
        return None
    rhos = [r.stats["spearman"]["aulc"]["estimate"] for r in runs]
    taus = [r.stats["spearman"]["aulc"]["kendall_tau"] for r in runs]
    across = stats.spearmanr(rhos, taus)
    rows, data = [], []
    for c in entries:
        rho = float(np.mean([r.stats["spearman"]["aulc"]["estimate"] for r in c.runs]))
        tau = float(np.mean([r.stats["spearman"]["aulc"]["kendall_tau"] for r in c.runs]))
        rows.append([c.label, num(rho), num(tau), num(tau / rho if rho else np.nan, 2)])
        data.append({"condition": c.label, "rho_mean": rho, "tau_mean": tau})
    frame = pd.DataFrame(data)
    frame.attrs = {"spearman_rho_tau": float(across.statistic), "pvalue": float(across.pvalue), "n_runs": len(runs)}
    return Table(
        "concordance",
        "Spearman–Kendall concordance",
        ["condition", "mean ρ", "mean τ-b", "τ / ρ"],
        rows,
        [
            f"Across the {len(runs)} runs, Spearman(ρ, τ-b) = {num(across.statistic)}"
            + (f" ({p_is(across.pvalue)})." if len(runs) >= MIN_RUNS_FOR_P else " (too few runs for a p-value).")
        ],
        frame,
    )


def bin_means(entropy: np.ndarray, aulc: np.ndarray, percentiles: tuple[float, ...]) -> np.ndarray:
    """Mean AULC per entropy bin, cut at ``percentiles`` of the run's entropies (the study's
    ``np.digitize(entropy, np.percentile(entropy, percentiles))``); items without both values are left out."""
    entropy, aulc = np.asarray(entropy, dtype=float), np.asarray(aulc, dtype=float)
    keep = np.isfinite(entropy) & np.isfinite(aulc)
    bins = np.digitize(entropy[keep], np.percentile(entropy[keep], percentiles))
    return np.array(
        [aulc[keep][bins == b].mean() if (bins == b).any() else np.nan for b in range(len(percentiles) + 1)]
    )


def rebinning_table(conditions: list[Condition]) -> Table | None:
    """Quartile and tercile re-binning of entropy: mean AULC per bin (mean over seeds of each run's bin means)
    and the Spearman of bin index against mean AULC, a monotonicity test the study eyeballed."""
    entries = with_entropy(conditions)
    if not entries:
        return None
    rows, data = [], []
    for c in entries:
        for scheme, percentiles in REBINNING.items():
            per_run = [bin_means(r.metrics["entropy"], r.metrics["aulc"], percentiles) for r in c.runs]
            means = np.nanmean(np.vstack(per_run), axis=0)
            trend = stats.spearmanr(np.arange(len(means)), means).statistic if np.isfinite(means).all() else np.nan
            cells = [num(m) for m in means] + [DASH] * (4 - len(means))
            rows.append([c.label, scheme, *cells, num(trend, 2)])
            data.append({"condition": c.label, "scheme": scheme, "bin_means": means.tolist(), "spearman": trend})
    return Table(
        "rebinning",
        "Entropy re-binned into quartiles and terciles: mean AULC per bin",
        ["condition", "bins", "bin 1 (lowest H)", "bin 2", "bin 3", "bin 4", "Spearman(bin, AULC)"],
        rows,
        [
            "Cut points are each run's entropy percentiles (25/50/75 or 33.33/66.67), as the study's script 10 cuts "
            "them; bin means are averaged over seeds. Spearman 1.00 means AULC rises with every bin."
        ],
        pd.DataFrame(data),
    )

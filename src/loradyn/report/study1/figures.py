"""The report's figures as PNG bytes, drawn headless (matplotlib's Agg canvas, no pyplot state).

Each function takes what it draws and returns the PNG; the caller embeds it in the HTML page and writes it beside
the markdown page.
"""

from __future__ import annotations

import io
import math
import textwrap

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from matplotlib.figure import Figure
from PIL import Image

from loradyn.data.annotations import CATEGORIES, CATEGORY_THRESHOLDS
from loradyn.report.study1.runs import Condition, SweepRun

#: One colour per entropy category, in every figure and in the interactive data map.
CATEGORY_COLORS = {"clean": "#0072B2", "ambiguous": "#E69F00", "contested": "#B2182B"}
LN3 = math.log(3)
PANEL = (4.0, 2.9)  # inches per small-multiple panel


def _png(fig: Figure) -> bytes:
    """The figure as a PNG small enough to embed, so that the HTML page stays under 1 MB: 72 dpi, and a palette of
    256 colours (a third of the bytes of full colour for these plots, with no visible difference)."""
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=72)
    palette = io.BytesIO()
    Image.open(buffer).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
        palette, format="PNG", optimize=True
    )
    return palette.getvalue()


def _panels(n: int, *, columns: int = 3) -> tuple[Figure, list]:
    cols = min(columns, n)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(PANEL[0] * cols, PANEL[1] * rows))
    axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _wrap(title: str) -> str:
    return textwrap.fill(title, 52)


def probe_curves(run: SweepRun) -> pd.DataFrame:
    """Sums of a run's probe losses (against the true labels) per entropy category, flipped label and step:
    ``category, flipped, step, n, total, total_sq``: enough to average curves over seeds."""
    path = run.path / "dynamics.parquet"
    names = pq.read_schema(path).names
    columns = ["example_id", "step", "loss", *(["target"] if "target" in names else [])]
    rows = pq.read_table(path, columns=columns, filters=[("mode", "=", "probe")]).to_pandas()
    if "target" in rows:
        rows = rows[rows["target"] == "original"]
    meta = run.metrics.set_index("example_id")
    rows = rows.assign(
        category=rows["example_id"].map(meta["category"]) if "category" in meta else None,
        flipped=rows["example_id"].map(meta["is_noisy"]).fillna(False).astype(bool) if "is_noisy" in meta else False,
        loss=rows["loss"].astype(float),
    )
    rows = rows[np.isfinite(rows["loss"]) & rows["category"].notna()]
    rows["sq"] = rows["loss"] ** 2
    grouped = rows.groupby(["category", "flipped", "step"], as_index=False)
    return grouped.agg(n=("loss", "size"), total=("loss", "sum"), total_sq=("sq", "sum"))


def _mean_band(sums: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% band (mean ± 1.96 SE over the item-seed curves) per step of summed curves."""
    s = sums.groupby("step", as_index=False)[["n", "total", "total_sq"]].sum().sort_values("step")
    mean = s["total"] / s["n"]
    var = (s["total_sq"] / s["n"] - mean**2).clip(lower=0) * s["n"] / (s["n"] - 1).clip(lower=1)
    half = 1.96 * np.sqrt(var / s["n"])
    return pd.DataFrame({"step": s["step"], "mean": mean, "low": mean - half, "high": mean + half})


def loss_curves(conditions: list[Condition], curves: dict[str, pd.DataFrame]) -> bytes:
    """Mean probe loss per entropy category against the step, with 95% bands, one panel per condition."""
    fig, axes = _panels(len(conditions))
    for ax, c in zip(axes, conditions, strict=True):
        sums = pd.concat([curves[r.name] for r in c.runs], ignore_index=True)
        for category in CATEGORIES:
            part = sums[sums["category"] == category]
            if part.empty:
                continue
            band = _mean_band(part)
            color = CATEGORY_COLORS[category]
            ax.plot(band["step"], band["mean"], color=color, label=category)
            ax.fill_between(band["step"], band["low"], band["high"], color=color, alpha=0.25, linewidth=0)
        ax.set_title(_wrap(f"{c.label} ({len(c.runs)} seed{'s' if len(c.runs) > 1 else ''})"), fontsize=8)
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylabel("probe loss (nats)", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7)
    return _png(fig)


def entropy_histogram(conditions: list[Condition]) -> bytes:
    """Annotation entropy of the tracked items, one panel per dataset, with the category thresholds and ln 3."""
    first = {}
    for c in conditions:
        first.setdefault(c.dataset, c.runs[0])
    fig, axes = _panels(len(first), columns=2)
    for ax, (dataset, run) in zip(axes, first.items(), strict=True):
        entropy = run.metrics["entropy"].dropna().to_numpy(dtype=float)
        ax.hist(entropy, bins=np.linspace(0, LN3, 31), color="#777777")
        for x, name in ((CATEGORY_THRESHOLDS[0], "0.4"), (CATEGORY_THRESHOLDS[1], "0.7"), (LN3, "ln 3")):
            ax.axvline(x, color="black", linestyle="--" if name != "ln 3" else ":", linewidth=1)
            ax.text(x, ax.get_ylim()[1] * 0.95, f" {name}", fontsize=7, va="top")
        ax.set_title(f"{dataset}: {len(entropy):,} tracked items", fontsize=9)
        ax.set_xlabel("annotation entropy (nats)", fontsize=8)
        ax.set_ylabel("items", fontsize=8)
    return _png(fig)


def aulc_vs_entropy(conditions: list[Condition]) -> bytes:
    """AULC against annotation entropy for the first seed of each condition, with the mean AULC per tenth of
    the entropy range."""
    fig, axes = _panels(len(conditions))
    edges = np.linspace(0, LN3, 11)
    for ax, c in zip(axes, conditions, strict=True):
        run = c.runs[0]
        m = run.metrics.dropna(subset=["aulc", "entropy"])
        for category in CATEGORIES:
            part = m[m["category"] == category] if "category" in m else m.iloc[:0]
            ax.scatter(part["entropy"], part["aulc"], s=3, color=CATEGORY_COLORS[category], label=category)
        which = np.digitize(m["entropy"], edges[1:-1])
        means = [m["aulc"][which == b].mean() if (which == b).any() else np.nan for b in range(10)]
        ax.plot((edges[:-1] + edges[1:]) / 2, means, color="black", linewidth=1.5, label="binned mean")
        rho = run.stats["spearman"]["aulc"]["estimate"]
        ax.set_title(_wrap(f"{c.label}, seed {run.seed}: ρ = {rho:.3f}"), fontsize=8)
        ax.set_xlabel("annotation entropy (nats)", fontsize=8)
        ax.set_ylabel("AULC", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7, markerscale=3)
    return _png(fig)


def rho_by_rank(data: pd.DataFrame, sds: dict[tuple[str, int], float]) -> bytes:
    """Seed-mean rho against LoRA rank (log scale), +- SD over seeds, one line per model and data set."""
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for group, part in data.groupby("group", sort=False):
        sd = [sds.get((group, r), np.nan) for r in part["rank"]]
        ax.errorbar(part["rank"], part["rho_mean"], yerr=np.nan_to_num(sd), marker="o", capsize=3, label=group)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("LoRA rank")
    ax.set_ylabel("ρ(AULC, entropy)")
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.legend(fontsize=7)
    return _png(fig)


def data_map(points: pd.DataFrame, title: str) -> bytes:
    """Confidence against variability, one point per tracked example, coloured by entropy category."""
    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    for category in CATEGORIES:
        part = points[points["category"] == category]
        ax.scatter(
            part["variability"],
            part["confidence"],
            s=6,
            alpha=0.6,
            color=CATEGORY_COLORS[category],
            label=f"{category} ({len(part):,})",
        )
    ax.set_xlabel("variability (SD of p(gold))")
    ax.set_ylabel("confidence (mean p(gold))")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, markerscale=2)
    return _png(fig)


def noise_curves(
    groups: dict[str, dict[float, list[SweepRun]]], labels: dict[str, str], curves: dict[str, pd.DataFrame]
) -> bytes:
    """Mean probe loss of the clean items per noise rate (over seeds); dashed: the items whose label was flipped."""
    fig, axes = _panels(len(groups), columns=2)
    colors = ["#333333", "#0072B2", "#D55E00", "#009E73", "#CC79A7"]
    for ax, (key, by_rate) in zip(axes, groups.items(), strict=True):
        for i, (rate, runs) in enumerate(by_rate.items()):
            sums = pd.concat([curves[r.name] for r in runs], ignore_index=True)
            clean = sums[sums["category"] == "clean"]
            color = colors[i % len(colors)]
            band = _mean_band(clean)
            ax.plot(band["step"], band["mean"], color=color, label=f"noise {rate:g}: all clean items")
            flipped = clean[clean["flipped"]]
            if not flipped.empty:
                band = _mean_band(flipped)
                ax.plot(band["step"], band["mean"], color=color, linestyle="--", label=f"noise {rate:g}: flipped")
        ax.set_title(labels[key], fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylabel("probe loss against the true label", fontsize=8)
        ax.legend(fontsize=7)
    return _png(fig)


def calibration(runs: list[SweepRun]) -> bytes:
    """Reliability per entropy category at the last probe, pooled over the runs that kept probabilities: accuracy
    against confidence in tenths; the legend gives the mean ECE (15 bins) over those runs."""
    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    pooled = pd.concat([r.metrics[["category", "final_confidence", "final_correct"]] for r in runs]).dropna()
    edges = np.linspace(0, 1, 11)
    for category in CATEGORIES:
        part = pooled[pooled["category"] == category]
        if part.empty:
            continue
        which = np.clip(np.digitize(part["final_confidence"], edges[1:-1]), 0, 9)
        frame = pd.DataFrame({"bin": which, "confidence": part["final_confidence"], "correct": part["final_correct"]})
        by_bin = frame.groupby("bin").agg(
            confidence=("confidence", "mean"), accuracy=("correct", "mean"), n=("correct", "size")
        )
        by_bin = by_bin[by_bin["n"] >= 5]
        ece = [r.stats.get("calibration_by_category", {}).get(category, {}).get("ece") for r in runs]
        ece = [e for e in ece if e is not None]
        label = f"{category}" + (f" (ECE {np.mean(ece):.3f})" if ece else "")
        ax.plot(by_bin["confidence"], by_bin["accuracy"], marker="o", color=CATEGORY_COLORS[category], label=label)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("confidence (max probability, last probe)")
    ax.set_ylabel("accuracy against the majority label")
    ax.set_title(f"Calibration by entropy category, {len(runs)} run{'s' if len(runs) > 1 else ''}", fontsize=9)
    ax.legend(fontsize=8)
    return _png(fig)

"""Statistics of the first study's gradient measurements: per-example gradient norms by entropy category (the
study's script 10: mean, SD with ddof 0, median and count per category, Spearman rho with entropy, Kruskal-Wallis
across the three categories) and the course of the clean-contested gradient cosine over training (script 17)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from loradyn.data.annotations import CATEGORIES


def gradient_norm_statistics(norms: np.ndarray, entropy: np.ndarray, category: np.ndarray) -> dict[str, Any]:
    """How tracked items' gradient norms follow annotation entropy; items with a missing value are left out."""
    norms, entropy, category = np.asarray(norms, float), np.asarray(entropy, float), np.asarray(category, object)
    keep = np.isfinite(norms) & np.isfinite(entropy)
    norms, entropy, category = norms[keep], entropy[keep], category[keep]
    groups = {c: norms[category == c] for c in CATEGORIES}
    by_category = {
        c: {"mean": float(g.mean()), "sd": float(g.std()), "median": float(np.median(g)), "n": len(g)}
        for c, g in groups.items()
        if len(g)
    }
    rho, p = stats.spearmanr(norms, entropy)
    filled = [g for g in groups.values() if len(g)]
    kruskal = stats.kruskal(*filled) if len(filled) > 1 else None
    return {
        "n_items": int(keep.sum()),
        "by_category": by_category,
        "spearman_rho": float(rho),
        "spearman_p": float(p),
        "kruskal_h": float(kruskal.statistic) if kruskal else None,
        "kruskal_p": float(kruskal.pvalue) if kruskal else None,
    }


def gradient_cosine_summary(history: list[dict[str, float]]) -> dict[str, Any]:
    """The clean-contested cosine at the first and the last checkpoint, its lowest value, and its trend over
    training (Spearman rho of cosine against step; negative when the two groups' gradients part)."""
    steps = np.array([h["step"] for h in history], float)
    cosine = np.array([h["cosine"] for h in history], float)
    rho, p = stats.spearmanr(steps, cosine) if len(history) > 2 else (np.nan, np.nan)
    return {
        "steps": steps.astype(int).tolist(),
        "cosine": cosine.tolist(),
        "first": float(cosine[0]),
        "last": float(cosine[-1]),
        "min": float(cosine.min()),
        "trend_rho": float(rho),
        "trend_p": float(p),
    }

"""Memorisation by a rank-r adapter: how many arbitrary labels can it fit?

A frozen random linear map ``W0`` (k x d) is adapted by ``B A`` (rank r) and trained, full batch, on ``n`` inputs
with uniformly random labels among ``k`` classes. The fraction of labels fitted as ``n`` grows is compared with the
dimension count r(d + k - r) of `loradyn.theory.capacity`: fitting should be complete well below it and fail well
above it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import torch

from loradyn.theory.capacity import rank_dof
from loradyn.theory.figures import figure


def fitted_fraction(
    n: int, *, d: int = 64, k: int = 10, rank: int = 4, steps: int = 1500, lr: float = 0.05, seed: int = 0
) -> float:
    """Train a rank-``rank`` adapter on ``n`` random (input, label) pairs; return the share of labels it fits."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=generator)
    y = torch.randint(0, k, (n,), generator=generator)
    base = torch.randn(k, d, generator=generator) / d**0.5  # frozen
    a = torch.nn.Parameter(torch.randn(rank, d, generator=generator) / d**0.5)
    b = torch.nn.Parameter(torch.zeros(k, rank))
    optimizer = torch.optim.Adam([a, b], lr=lr)
    for _ in range(steps):
        logits = x @ (base + b @ a).T
        loss = torch.nn.functional.cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (logits.argmax(1) == y).all():
            return 1.0
    with torch.no_grad():
        return float(((x @ (base + b @ a).T).argmax(1) == y).float().mean())


#: Sample sizes tried, as multiples of the bound r(d + k - r).
RATIOS = (0.125, 0.25, 0.5, 1, 2, 4, 8)


def memorisation_curve(
    *,
    ranks: Sequence[int] = (1, 2, 4, 8),
    ratios: Sequence[float] = RATIOS,
    d: int = 64,
    k: int = 10,
    steps: int = 1500,
    seed: int = 0,
    on_fit: Callable[[dict], None] | None = None,
) -> pd.DataFrame:
    """Fitted fraction for each rank at sample sizes ``ratio x r(d + k - r)``; columns ``rank``, ``bound``,
    ``ratio``, ``n``, ``fitted``, and ``chance`` (1/k, what an adapter that fits nothing beyond chance gets).
    ``on_fit`` is called with each row as it is done (progress for long grids)."""
    rows = []
    for rank in ranks:
        bound = rank_dof(k, d, rank)
        for ratio in ratios:
            n = max(1, round(ratio * bound))
            fitted = fitted_fraction(n, d=d, k=k, rank=rank, steps=steps, seed=seed)
            rows.append({"rank": rank, "bound": bound, "ratio": ratio, "n": n, "fitted": fitted, "chance": 1 / k})
            if on_fit:
                on_fit(rows[-1])
    return pd.DataFrame(rows)


def transition_ratio(curve: pd.DataFrame, *, level: float = 0.99) -> pd.Series:
    """Per rank, the largest ``n / bound`` at which at least ``level`` of the labels were still fitted."""
    fitted = curve[curve["fitted"] >= level]
    return fitted.groupby("rank")["ratio"].max().reindex(sorted(curve["rank"].unique()))


def plot_curve(curve: pd.DataFrame, path) -> None:
    """Fitted fraction against n / r(d + k - r), one line per rank, the bound at 1."""
    with figure(path) as ax:
        for rank, group in curve.groupby("rank"):
            ax.plot(group["ratio"], group["fitted"], marker="o", label=f"r = {rank} (bound {group['bound'].iloc[0]:,})")
        ax.axvline(1, color="black", linestyle="--", linewidth=1, label="n = r(d + k - r)")
        ax.axhline(curve["chance"].iloc[0], color="grey", linestyle=":", linewidth=1, label="chance")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("sample size n / r(d + k - r)")
        ax.set_ylabel("fraction of random labels fitted")
        ax.set_ylim(0, 1.05)
        ax.legend(fontsize=8)

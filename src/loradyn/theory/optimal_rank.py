"""The optimal adapter rank under label noise, on a synthetic task with a known low-rank answer.

A teacher labels Gaussian inputs with ``argmax((W0 + U V) x)``, where ``W0`` (k x d) is a frozen random base and
``U V`` a rank-``true_rank`` shift. Students adapt the same ``W0`` with rank-r updates, trained on the labels after
symmetric noise at each rate, and are scored on clean held-out labels. The second study predicts that too low a
rank underfits (bias), too high a rank fits the noise (variance), and that the best rank falls as noise rises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import torch

from loradyn.data.noise import inject_noise
from loradyn.theory.figures import figure


def _teacher(n: int, *, d: int, k: int, true_rank: int, generator: torch.Generator):
    base = torch.randn(k, d, generator=generator) / d**0.5
    shift = torch.randn(k, true_rank, generator=generator) @ torch.randn(true_rank, d, generator=generator) / d**0.5
    x = torch.randn(n, d, generator=generator)
    return base, x, (x @ (base + shift).T).argmax(1)


def clean_accuracy(
    x: torch.Tensor,
    y: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    base: torch.Tensor,
    *,
    rank: int,
    steps: int,
    lr: float,
    seed: int,
) -> float:
    """Train a rank-``rank`` adapter on (x, y) full batch; return its accuracy on the clean (x_test, y_test)."""
    generator = torch.Generator().manual_seed(seed)
    a = torch.nn.Parameter(torch.randn(rank, x.shape[1], generator=generator) / x.shape[1] ** 0.5)
    b = torch.nn.Parameter(torch.zeros(base.shape[0], rank))
    optimizer = torch.optim.Adam([a, b], lr=lr)
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(x @ (base + b @ a).T, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return float(((x_test @ (base + b @ a).T).argmax(1) == y_test).float().mean())


def optimal_rank_grid(
    *,
    ranks: Sequence[int] = (1, 2, 4, 8, 16, 32),
    noise_rates: Sequence[float] = (0.0, 0.2, 0.4, 0.6),
    n: int = 1000,
    n_test: int = 5000,
    d: int = 64,
    k: int = 10,
    true_rank: int = 4,
    steps: int = 1500,
    lr: float = 0.05,
    seed: int = 0,
    on_fit: Callable[[dict], None] | None = None,
) -> pd.DataFrame:
    """Clean test accuracy for every (rank, noise rate); columns ``rank``, ``noise_rate``, ``accuracy``. ``on_fit``
    is called with each row as it is done (progress for long grids)."""
    generator = torch.Generator().manual_seed(seed)
    base, x_all, y_all = _teacher(n + n_test, d=d, k=k, true_rank=true_rank, generator=generator)
    x, y, x_test, y_test = x_all[:n], y_all[:n], x_all[n:], y_all[n:]
    rows = []
    for rate in noise_rates:
        noisy = torch.as_tensor(inject_noise(y.numpy(), rate=rate, n_classes=k, seed=seed).labels)
        for rank in ranks:
            accuracy = clean_accuracy(x, noisy, x_test, y_test, base, rank=rank, steps=steps, lr=lr, seed=seed)
            rows.append({"rank": rank, "noise_rate": rate, "accuracy": accuracy})
            if on_fit:
                on_fit(rows[-1])
    return pd.DataFrame(rows)


def best_rank(grid: pd.DataFrame) -> pd.Series:
    """The rank with the highest clean accuracy at each noise rate (the lower rank on a tie)."""
    ordered = grid.sort_values(["noise_rate", "accuracy", "rank"], ascending=[True, False, True])
    return ordered.groupby("noise_rate")["rank"].first()


def plot_grid(grid: pd.DataFrame, path) -> None:
    """Clean accuracy against rank, one line per noise rate, the best rank of each marked."""
    best = best_rank(grid)
    with figure(path) as ax:
        for rate, group in grid.groupby("noise_rate"):
            line = ax.plot(group["rank"], group["accuracy"], marker="o", label=f"noise {rate:g}")[0]
            top = group[group["rank"] == best[rate]]
            ax.plot(top["rank"], top["accuracy"], marker="*", markersize=14, color=line.get_color())
        ax.set_xscale("log", base=2)
        ax.set_xlabel("adapter rank r")
        ax.set_ylabel("clean test accuracy")
        ax.legend(fontsize=8)

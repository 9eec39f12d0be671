"""Synthetic run directories with a known answer, for tests and benchmarks of everything downstream of the store.

Each tracked item gets an annotation entropy; its probe loss falls from ln 3 at a rate that shrinks with entropy,
so AULC and final loss rise with entropy by construction. Two things are planted, and written into
``examples.parquet`` as the truth:

- ``planted_unlearning``: a share of the contested items (and a few clean ones) is learned, then lost: the loss
  falls to 0.25 by 40% of training and climbs back above ln 3 (not learned) for its last fifth;
- ``is_noisy``: with ``noise_rate`` > 0, a share of the items trains on a wrong label (``label``), which the run
  fits only late in training; rows are recorded against both label sets (``target`` original and noisy), as a
  run with ``record_labels: both`` does.

An example is learned where its loss is below ln 3 (``p_gold > 1/3``, the other classes sharing the rest). The
files have exactly the layout and columns `loradyn train` writes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from loradyn.data.annotations import entropy_category

LN3 = float(np.log(3))


def write_synthetic_run(
    run_dir: str | os.PathLike[str],
    *,
    n_items: int = 200,
    n_checkpoints: int = 20,
    n_bulk: int = 0,
    epochs: int = 5,
    effect: float = 1.5,
    unlearning_share: float = 0.4,
    noise_rate: float = 0.0,
    seed: int = 0,
    config: dict | None = None,
) -> Path:
    """Write ``run.json``, ``examples.parquet`` and ``dynamics.parquet``: probe rows for ``n_items`` tracked items
    at ``n_checkpoints`` checkpoints (step 0 first), and inline rows for them and ``n_bulk`` more, one per epoch.

    ``unlearning_share`` of the contested items (and a tenth of that share of the clean ones) are learned, then
    lost; ``noise_rate`` of the tracked items train on a wrong label."""
    rng = np.random.default_rng(seed)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    entropy = rng.uniform(0, LN3, size=n_items)
    category = entropy_category(entropy)
    original = rng.integers(0, 3, size=n_items)
    share = np.select([category == "contested", category == "clean"], [unlearning_share, unlearning_share / 10], 0)
    unlearns = rng.uniform(size=n_items) < share
    is_noisy = np.zeros(n_items, dtype=bool)
    is_noisy[rng.choice(n_items, size=round(noise_rate * n_items), replace=False)] = True
    noisy = np.where(is_noisy, (original + rng.integers(1, 3, size=n_items)) % 3, original)
    rate = np.maximum(1.0, 4 * np.exp(-effect * entropy + rng.normal(scale=0.3, size=n_items)))

    def curves(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Losses against the original and the trained-on label at training progress t (0..1)."""
        fit = LN3 * np.exp(-rate[:, None] * t) + 0.2 * entropy[:, None] * t**3
        lost = 0.25 + (LN3 - 0.25) * ((t - 0.4) / 0.4) ** 2  # lowest at t = 0.4, back above ln 3 after t = 0.8
        clean_loss = np.where(unlearns[:, None], lost, fit)
        memorised = LN3 + 0.3 - (LN3 - 0.1) / (1 + np.exp(-(t - 0.75) / 0.04))  # fitted late
        forgotten = np.minimum(clean_loss + 1.5 * t**2, 4.0)  # the true label's loss rises as the wrong one is fit
        jitter = rng.normal(scale=0.02, size=clean_loss.shape)
        against_original = np.where(is_noisy[:, None], forgotten, clean_loss) + jitter
        against_trained = np.where(is_noisy[:, None], memorised, clean_loss) + jitter
        against_original[:, t == 0] = against_trained[:, t == 0] = LN3  # the untrained model: chance
        return np.clip(against_original, 1e-4, None), np.clip(against_trained, 1e-4, None)

    t = np.linspace(0, 1, n_checkpoints)
    steps = np.round(t * 100 * epochs).astype(int)
    targets = {"original": original, "noisy": noisy} if noise_rate > 0 else {"original": original}
    ids = np.array([f"item-{i:05d}" for i in range(n_items)])
    frames = []
    probe_losses = dict(zip(("original", "noisy"), curves(t), strict=True))
    inline_losses = dict(zip(("original", "noisy"), curves((np.arange(epochs) + 0.5) / epochs), strict=True))
    bulk_ids = np.array([f"bulk-{i:06d}" for i in range(n_bulk)])
    bulk_labels = rng.integers(0, 3, size=n_bulk)
    bulk_loss = np.clip(LN3 * np.exp(-rng.uniform(0.5, 3, size=(n_bulk, 1)) * np.arange(epochs)), 1e-4, None)
    for target, labels in targets.items():
        frames.append(
            _rows(
                ids,
                labels,
                probe_losses[target],
                "probe",
                target,
                checkpoint=np.arange(n_checkpoints),
                steps=steps,
                epochs=t * epochs,
            )
        )
        frames.append(
            _rows(
                np.r_[ids, bulk_ids],
                np.r_[labels, bulk_labels],
                np.r_[inline_losses[target], bulk_loss],
                "inline",
                target,
                checkpoint=np.arange(epochs) * 100 + 50,
                steps=np.arange(epochs) * 100 + 50,
                epochs=np.arange(epochs, dtype=float),
            )
        )
    pd.concat(frames, ignore_index=True).to_parquet(run_dir / "dynamics.parquet", index=False)
    words = rng.integers(3, 30, size=(n_items, 2))
    votes = rng.multinomial(100, rng.dirichlet(np.ones(3), size=n_items))  # covariates only: not tied to entropy
    pd.DataFrame(
        {
            "example_id": ids,
            "split": "train",
            "tracked": True,
            "label": noisy,
            "original_label": original,
            "is_noisy": is_noisy,
            "planted_unlearning": unlearns,
            "entropy": entropy,
            "category": category,
            "majority_confidence": rng.uniform(0.34, 1, size=n_items),
            "premise_words": words[:, 0],
            "hypothesis_words": words[:, 1],
            "total_words": words.sum(axis=1),
            **{f"votes_{name}": votes[:, k] for k, name in enumerate(("entailment", "neutral", "contradiction"))},
        }
    ).to_parquet(run_dir / "examples.parquet", index=False)
    run = {"run_id": run_dir.name, "status": "complete", "seed": seed, "config": {**(config or {}), "seed": seed}}
    (run_dir / "run.json").write_text(json.dumps(run))
    return run_dir


def _rows(ids, labels, loss, mode, target, *, checkpoint, steps, epochs) -> pd.DataFrame:
    n, t = loss.shape
    p_gold = np.exp(-loss)
    other = (1 - p_gold) / 2  # the rest split evenly between the two other classes
    label_grid = np.repeat(labels, t).reshape(n, t)
    return pd.DataFrame(
        {
            "run_id": "synthetic",
            "example_id": np.repeat(ids, t),
            "checkpoint": np.tile(checkpoint, n).astype(np.int32),
            "step": np.tile(steps, n).astype(np.int32),
            "epoch": np.tile(epochs, n).astype(np.float32),
            "mode": mode,
            "target": target,
            "label": label_grid.ravel().astype(np.int8),
            "loss": loss.ravel().astype(np.float32),
            "p_gold": p_gold.ravel().astype(np.float32),
            "pred": np.where(p_gold > other, label_grid, (label_grid + 1) % 3).ravel().astype(np.int8),
            "margin": np.log(p_gold / other).ravel().astype(np.float32),
        }
    )

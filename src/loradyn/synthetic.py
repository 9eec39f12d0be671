"""Synthetic run directories with a known answer, for tests and benchmarks of everything downstream of the store.

Each tracked item gets an annotation entropy; its loss falls from ln 3 at a rate that shrinks with entropy, and
contested items climb back late in training (un-learning), so AULC and final loss rise with entropy by
construction. The files have exactly the layout and columns `loradyn train` writes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from loradyn.data.annotations import entropy_category


def write_synthetic_run(
    run_dir: str | os.PathLike[str],
    *,
    n_items: int = 200,
    n_checkpoints: int = 20,
    n_bulk: int = 0,
    epochs: int = 5,
    effect: float = 1.5,
    seed: int = 0,
    config: dict | None = None,
) -> Path:
    """Write ``run.json``, ``examples.parquet`` and ``dynamics.parquet`` (probe rows for ``n_items`` tracked
    items at ``n_checkpoints`` checkpoints; inline rows for them and ``n_bulk`` more over ``epochs``)."""
    rng = np.random.default_rng(seed)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    entropy = rng.uniform(0, np.log(3), size=n_items)
    labels = rng.integers(0, 3, size=n_items)
    ids = np.array([f"item-{i:05d}" for i in range(n_items)])
    t = np.linspace(0, 1, n_checkpoints)
    rate = 4 * np.exp(-effect * entropy + rng.normal(scale=0.3, size=n_items))
    loss = np.log(3) * np.exp(-rate[:, None] * t) + 0.4 * entropy[:, None] * t**3
    loss = np.clip(loss + rng.normal(scale=0.03, size=loss.shape), 1e-4, None)
    steps = np.round(t * 100 * epochs).astype(int)
    probes = _rows(ids, labels, loss, "probe", checkpoint=np.arange(n_checkpoints), steps=steps, epochs=t * epochs)
    every = np.r_[ids, [f"bulk-{i:06d}" for i in range(n_bulk)]]
    every_labels = np.r_[labels, rng.integers(0, 3, size=n_bulk)]
    inline_loss = np.clip(
        np.log(3) * np.exp(-rng.uniform(0.5, 3, size=(len(every), 1)) * np.arange(epochs)), 1e-4, None
    )
    inline = _rows(
        every,
        every_labels,
        inline_loss,
        "inline",
        checkpoint=np.arange(epochs) * 100,
        steps=np.arange(epochs) * 100,
        epochs=np.arange(epochs, dtype=float),
    )
    pd.concat([probes, inline], ignore_index=True).to_parquet(run_dir / "dynamics.parquet", index=False)
    words = rng.integers(3, 30, size=(n_items, 2))
    pd.DataFrame(
        {
            "example_id": ids,
            "split": "train",
            "tracked": True,
            "label": labels,
            "original_label": labels,
            "is_noisy": False,
            "entropy": entropy,
            "category": entropy_category(entropy),
            "majority_confidence": rng.uniform(0.34, 1, size=n_items),
            "premise_words": words[:, 0],
            "hypothesis_words": words[:, 1],
            "total_words": words.sum(axis=1),
        }
    ).to_parquet(run_dir / "examples.parquet", index=False)
    run = {"run_id": run_dir.name, "status": "complete", "seed": seed, "config": {**(config or {}), "seed": seed}}
    (run_dir / "run.json").write_text(json.dumps(run))
    return run_dir


def _rows(ids, labels, loss, mode, *, checkpoint, steps, epochs) -> pd.DataFrame:
    n, t = loss.shape
    p_gold = np.exp(-loss)
    other = (1 - p_gold) / 2  # the rest split evenly between the two other classes
    return pd.DataFrame(
        {
            "run_id": "synthetic",
            "example_id": np.repeat(ids, t),
            "checkpoint": np.tile(checkpoint, n).astype(np.int32),
            "step": np.tile(steps, n).astype(np.int32),
            "epoch": np.tile(epochs, n).astype(np.float32),
            "mode": mode,
            "target": "original",
            "label": np.repeat(labels, t).astype(np.int8),
            "loss": loss.ravel().astype(np.float32),
            "p_gold": p_gold.ravel().astype(np.float32),
            "pred": np.where(p_gold > other, np.repeat(labels, t).reshape(n, t), (labels[:, None] + 1) % 3)
            .ravel()
            .astype(np.int8),
            "margin": np.log(p_gold / other).ravel().astype(np.float32),
        }
    )

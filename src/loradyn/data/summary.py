"""The numbers `loradyn data summary` prints: size, annotation entropy, categories, labels, splits."""

from __future__ import annotations

from typing import Any

import numpy as np

from loradyn.data import annotations as ann
from loradyn.data.examples import Examples


def _label_counts(labels: np.ndarray, label_names: tuple[str, ...]) -> dict[str, int]:
    return {name: int(np.sum(labels == k)) for k, name in enumerate(label_names)}


def summarize_annotated(examples: Examples, *, test_size: float = 0.2, seed: int = 42) -> dict[str, Any]:
    """Summary of a multi-annotator dataset; entropy in nats, the split as in `Examples.split`."""
    table = examples.annotation_table()
    counts = examples.counts
    tied = (counts == counts.max(axis=1, keepdims=True)).sum(axis=1) > 1
    categories = table["category"].to_numpy()
    try:
        train, held_out = examples.split(test_size=test_size, seed=seed)
        splits = {"train": len(train), "held_out": len(held_out)}
    except ValueError as err:  # too few items for a stratified split: report it, the rest still holds
        splits = {"unavailable": str(err)}
    gold = examples.frame["gold_label"].to_numpy()
    return {
        "name": examples.name,
        "n_items": len(examples),
        "n_annotations": {"mean": float(table["n_annotations"].mean()), "min": int(table["n_annotations"].min())},
        "entropy_nats": {
            "mean": float(table["entropy"].mean()),
            "median": float(table["entropy"].median()),
            "max": float(table["entropy"].max()),
        },
        "categories": {c: float(np.mean(categories == c)) for c in ann.CATEGORIES},
        "majority_labels": _label_counts(examples.labels, examples.task.label_names),
        "majority_ties": int(tied.sum()),
        "gold_labels": _label_counts(gold, examples.task.label_names) if (gold >= 0).any() else None,
        "splits": splits,
    }


def summarize_standard(splits: dict[str, Examples]) -> dict[str, Any]:
    """Summary of a single-label dataset: rows and label counts per split."""
    first = next(iter(splits.values()))
    return {
        "name": first.name.split("/")[0],
        "n_items": sum(len(e) for e in splits.values()),
        "splits": {split: len(e) for split, e in splits.items()},
        "labels": {split: _label_counts(e.labels, e.task.label_names) for split, e in splits.items()},
    }

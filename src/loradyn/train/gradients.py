"""Gradient measurements of the first study (scripts 17 and 10 ``--gradient-norms``): the cosine between the mean
gradients of two groups of examples, and each example's gradient norm. Both take the gradient of the unweighted
cross-entropy with respect to every trainable parameter (adapter and head), through `torch.autograd.grad`, so the
optimizer's accumulated gradients are never touched."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F

from loradyn.errors import DataError
from loradyn.train.rundata import RunData


def _trainable(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def _flat_gradient(loss: torch.Tensor, params: list[torch.nn.Parameter]) -> torch.Tensor:
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return torch.cat(
        [(g if g is not None else torch.zeros_like(p)).reshape(-1).float() for g, p in zip(grads, params, strict=True)]
    )


def mean_gradient(model: torch.nn.Module, batches: Iterable[dict[str, torch.Tensor]]) -> torch.Tensor:
    """The mean over every example in ``batches`` of its loss gradient, flattened over the trainable parameters
    (summed per batch, divided by the number of examples: the same for any batching). Each batch holds the model's
    inputs and ``labels``."""
    params, total, n = _trainable(model), None, 0
    for batch in batches:
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
        flat = _flat_gradient(F.cross_entropy(logits.float(), batch["labels"], reduction="sum"), params)
        total = flat if total is None else total + flat
        n += len(batch["labels"])
    if total is None:
        raise ValueError("no examples to take a mean gradient over")
    return total / n


def group_gradient_cosine(
    model: torch.nn.Module, first: Iterable[dict[str, torch.Tensor]], second: Iterable[dict[str, torch.Tensor]]
) -> float:
    """Cosine similarity between the mean gradients of two groups (the study: clean and contested items)."""
    return float(F.cosine_similarity(mean_gradient(model, first), mean_gradient(model, second), dim=0))


def example_gradient_norms(model: torch.nn.Module, batches: Iterable[dict[str, torch.Tensor]]) -> list[float]:
    """The L2 norm of each example's loss gradient over the trainable parameters, one example per batch (as the
    study measured them), in the order of ``batches``."""
    params = _trainable(model)
    norms = []
    for batch in batches:
        if len(batch["labels"]) != 1:
            raise ValueError("per-example gradient norms take one example per batch")
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
        norms.append(float(_flat_gradient(F.cross_entropy(logits.float(), batch["labels"]), params).norm()))
    return norms


def clean_and_contested(data: RunData) -> tuple[np.ndarray, np.ndarray]:
    """The positions of a run's clean and contested tracked items, the two groups `group_gradient_cosine` compares."""
    tracked = data.tracked
    category = data.table["category"].to_numpy()[tracked] if "category" in data.table else np.full(len(tracked), None)
    clean, contested = (tracked[category == c] for c in ("clean", "contested"))
    if not (len(clean) and len(contested)):
        raise DataError(
            "gradient_cosine compares the clean and the contested tracked items, and this run tracks "
            f"{len(clean)} clean and {len(contested)} contested ones",
            field="gradient_cosine",
            fix="track items with annotator votes of both kinds (a ChaosNLI part), or drop gradient_cosine",
        )
    return clean, contested

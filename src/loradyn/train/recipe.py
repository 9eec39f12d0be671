"""The first study's optimisation recipe: AdamW, warm-up then cosine decay to a floor, class-weighted loss."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.optim.lr_scheduler import LambdaLR


def class_weights(labels: np.ndarray, n_classes: int) -> torch.Tensor:
    """Weights proportional to ``1 / count`` per class, normalised to sum to ``n_classes`` (the paper's
    class-weighted cross-entropy for training). A class absent from ``labels`` gets weight 0."""
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=n_classes).astype(float)
    inverse = np.divide(1.0, counts, out=np.zeros_like(counts), where=counts > 0)
    return torch.tensor(inverse * n_classes / inverse.sum(), dtype=torch.float32)


def warmup_cosine(step: int, *, total_steps: int, warmup_ratio: float = 0.06, floor: float = 0.1) -> float:
    """Learning-rate multiplier at ``step``: linear warm-up over ``warmup_ratio`` of the steps, then cosine decay
    from 1 to ``floor`` (the paper: 6% warm-up, floor at 10% of the peak)."""
    warmup = max(1, math.ceil(warmup_ratio * total_steps))
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def make_optimizer(
    model: torch.nn.Module,
    *,
    lr: float,
    weight_decay: float,
    total_steps: int,
    warmup_ratio: float,
    floor: float,
) -> tuple[torch.optim.AdamW, LambdaLR]:
    """AdamW over the trainable parameters (no decay on biases and norms) and the warm-up/cosine schedule."""
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            (no_decay if parameter.ndim < 2 or "norm" in name.lower() else decay).append(parameter)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=lr
    )
    schedule = LambdaLR(
        optimizer, lambda step: warmup_cosine(step, total_steps=total_steps, warmup_ratio=warmup_ratio, floor=floor)
    )
    return optimizer, schedule

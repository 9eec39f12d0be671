"""The first study's optimisation recipe: AdamW, warm-up then a clamped cosine, class-weighted loss."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.optim.lr_scheduler import LambdaLR


def class_weights(labels: np.ndarray, n_classes: int) -> torch.Tensor:
    """Weights proportional to ``1 / count`` per class over the whole training set, normalised to sum to
    ``n_classes``, as the first study computes them (a class absent from ``labels`` counts as 1)."""
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=n_classes).astype(float)
    inverse = 1.0 / np.maximum(counts, 1)
    return torch.tensor(inverse * n_classes / inverse.sum(), dtype=torch.float32)


def warmup_cosine(
    step: int,
    *,
    total_steps: int,
    warmup_ratio: float = 0.06,
    floor: float = 0.1,
    schedule: str = "clamped_cosine",
) -> float:
    """Learning-rate multiplier at optimizer step ``step`` (0-based).

    The first study's schedule (``"clamped_cosine"``): ``int(warmup_ratio * total_steps)`` warm-up steps rising
    linearly from 0 (the first step runs at lr 0), then ``max(floor, 0.5 (1 + cos(pi p)))`` with ``p`` the share
    of the post-warm-up steps done: a cosine to zero, held at the floor for its last ~20% (floor 0.1).
    ``"rescaled_cosine"``: the same warm-up, then ``floor + (1 - floor) 0.5 (1 + cos(pi p))``, which keeps about
    a third more learning rate late in training.
    """
    warmup = int(warmup_ratio * total_steps)
    if step < warmup:
        return step / max(1, warmup)
    progress = (step - warmup) / max(1, total_steps - warmup)
    cosine = 0.5 * (1 + math.cos(math.pi * progress))
    if schedule == "clamped_cosine":
        return max(floor, cosine)
    if schedule == "rescaled_cosine":
        return floor + (1 - floor) * cosine
    raise ValueError(f"schedule must be 'clamped_cosine' or 'rescaled_cosine', got {schedule!r}")


def make_optimizer(
    model: torch.nn.Module,
    *,
    lr: float,
    weight_decay: float,
    total_steps: int,
    warmup_ratio: float,
    floor: float,
    schedule: str = "clamped_cosine",
) -> tuple[torch.optim.AdamW, LambdaLR]:
    """AdamW over the trainable parameters, weight decay on all of them (as the first study), and the schedule."""
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=lr, weight_decay=weight_decay)
    multiplier = LambdaLR(
        optimizer,
        lambda step: warmup_cosine(
            step, total_steps=total_steps, warmup_ratio=warmup_ratio, floor=floor, schedule=schedule
        ),
    )
    return optimizer, multiplier

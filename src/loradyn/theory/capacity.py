"""Degrees of freedom of a rank-r adapter, per adapted module, from a model's configuration alone.

A rank-r update of a d x k matrix lies on a manifold of dimension r(d + k - r) (for r <= min(d, k)); summed over
the adapted modules this is the number of labels the adapter could fit by dimension counting, so beyond a sample
size of that order arbitrary labels cannot all be memorised (the second study's capacity argument).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from peft import LoraConfig, TaskType, get_peft_model
from torch import nn
from transformers import AutoModelForSequenceClassification, PretrainedConfig

from loradyn.models.adapters import check_targets, default_targets


def rank_dof(d: int, k: int, rank: int) -> int:
    """Dimension of the set of d x k matrices of rank at most ``rank``: r(d + k - r), or d*k once r >= min(d, k)."""
    r = min(rank, d, k)
    return r * (d + k - r)


@dataclass(frozen=True)
class ModuleCapacity:
    """One kind of adapted module (e.g. every layer's ``query``): its shape, how many there are, their dof."""

    target: str
    d_in: int
    d_out: int
    count: int
    dof_each: int

    @property
    def dof(self) -> int:
        return self.count * self.dof_each


@dataclass(frozen=True)
class Capacity:
    """The capacity of a LoRA adapter on one model."""

    model_type: str
    rank: int
    modules: tuple[ModuleCapacity, ...]
    trainable_params: int  # as PEFT counts them, the classification head included

    @property
    def dof(self) -> int:
        return sum(m.dof for m in self.modules)

    @property
    def memorisation_bound(self) -> int:
        """The sample size beyond which arbitrary labels cannot all be fitted, to first order: one constraint per
        example against ``dof`` free directions."""
        return self.dof

    def to_dict(self) -> dict:
        return {
            "model_type": self.model_type,
            "rank": self.rank,
            "modules": [m.__dict__ | {"dof": m.dof} for m in self.modules],
            "dof": self.dof,
            "trainable_params": self.trainable_params,
            "memorisation_bound": self.memorisation_bound,
        }


def adapter_capacity(
    config: PretrainedConfig, *, rank: int, targets: Sequence[str] | None = None, num_labels: int = 3
) -> Capacity:
    """Per adapted module its shape and r(d + k - r), the total, and PEFT's trainable-parameter count, for a LoRA
    adapter of ``rank`` on the model ``config`` describes. The model is built on the meta device: no weights are
    read or allocated."""
    if rank <= 0:
        raise ValueError(f"rank must be a positive integer, got {rank}")
    config = copy.deepcopy(config)
    config.num_labels = num_labels
    with torch.device("meta"):
        model = AutoModelForSequenceClassification.from_config(config)
    targets = tuple(targets) if targets else default_targets(config.model_type, "lora")
    check_targets(model, targets)
    shapes = Counter(
        (target, module.in_features, module.out_features)
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear)
        for target in targets
        if name == target or name.endswith("." + target)
    )
    modules = tuple(
        ModuleCapacity(target, d_in, d_out, count, rank_dof(d_out, d_in, rank))
        for (target, d_in, d_out), count in sorted(shapes.items())
    )
    peft_model = get_peft_model(
        model, LoraConfig(task_type=TaskType.SEQ_CLS, r=rank, lora_alpha=2 * rank, target_modules=list(targets))
    )
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    return Capacity(config.model_type, rank, modules, trainable)

"""Fine-tuning methods through PEFT: LoRA, IA3, and full fine-tuning.

The classification head is trainable under every method (PEFT's ``modules_to_save`` for the sequence-
classification task), so it is saved and restored with the adapter.
"""

from __future__ import annotations

from collections.abc import Sequence

from peft import IA3Config, LoraConfig, TaskType, get_peft_model
from peft.utils.constants import (
    TRANSFORMERS_MODELS_TO_IA3_FEEDFORWARD_MODULES_MAPPING,
    TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING,
    TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING,
)
from torch import nn

from loradyn.errors import DataError
from loradyn.models.methods import METHODS, Method

#: LoRA targets per architecture, as in the first study: the attention query and value projections.
LORA_TARGETS = {
    "bert": ("query", "value"),
    "roberta": ("query", "value"),
    "distilbert": ("q_lin", "v_lin"),
    "deberta-v2": ("query_proj", "value_proj"),
    "llama": ("q_proj", "v_proj"),
    "qwen2": ("q_proj", "v_proj"),
    "qwen3": ("q_proj", "v_proj"),
}


#: IA3 as the first study configured it (for RoBERTa; BERT shares the module names): scale the query and value
#: projections and the input of the feed-forward block. Other architectures use PEFT's own tables.
IA3_MODULES = {
    "bert": (("query", "value", "intermediate.dense"), ("intermediate.dense",)),
    "roberta": (("query", "value", "intermediate.dense"), ("intermediate.dense",)),
}


def default_targets(model_type: str, method: Method) -> tuple[str, ...]:
    """The modules an adapter wraps by default: the study's (`LORA_TARGETS`, `IA3_MODULES`), else PEFT's own
    table for the architecture."""
    if method == "lora":
        targets = LORA_TARGETS.get(model_type) or TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING.get(model_type)
    else:
        targets = IA3_MODULES[model_type][0] if model_type in IA3_MODULES else None
        targets = targets or TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING.get(model_type)
    if not targets:
        raise DataError(
            f"no default {method} target modules for architecture {model_type!r}",
            field="targets",
            fix="name the modules to adapt: targets: [...]",
        )
    return tuple(targets)


def default_feedforward(model_type: str, targets: Sequence[str]) -> tuple[str, ...]:
    """IA3's feed-forward modules (scaled at their input) among ``targets``: the study's, else PEFT's table."""
    table = IA3_MODULES[model_type][1] if model_type in IA3_MODULES else None
    table = table or TRANSFORMERS_MODELS_TO_IA3_FEEDFORWARD_MODULES_MAPPING.get(model_type, [])
    return tuple(t for t in table if t in targets)


def check_targets(model: nn.Module, targets: Sequence[str]) -> None:
    names = [name for name, _ in model.named_modules()]
    absent = [t for t in targets if not any(name == t or name.endswith("." + t) for name in names)]
    if absent:
        leaves = sorted({name.rsplit(".", 1)[-1] for name, m in model.named_modules() if isinstance(m, nn.Linear)})
        raise DataError(
            f"target modules {absent} are not in the model; its linear layers are named {leaves}",
            field="targets",
            fix="name some of its linear layers, or leave targets out for the study's",
        )


def check_rank(model: nn.Module, targets: Sequence[str], rank: int) -> None:
    """A LoRA rank above a target's smaller dimension adds parameters and no expressiveness (a d x k update has
    rank min(d, k) at most), and a huge one exhausts memory: refused before any adapter is built."""
    adapted = [
        m
        for name, m in model.named_modules()
        if isinstance(m, nn.Linear) and any(name == t or name.endswith("." + t) for t in targets)
    ]
    most = min((min(m.in_features, m.out_features) for m in adapted), default=None)
    if most is not None and rank > most:
        raise DataError(
            f"rank {rank:,} exceeds the adapted layers' smaller dimension, {most:,}",
            field="rank",
            fix=f"pass a rank of at most {most:,} (the study's: 4 and 16)",
        )


def apply_method(
    model: nn.Module,
    method: Method,
    *,
    rank: int = 16,
    alpha: float | None = None,
    dropout: float = 0.05,
    targets: Sequence[str] | None = None,
    feedforward_modules: Sequence[str] | None = None,
) -> nn.Module:
    """Make ``model`` (a ``*ForSequenceClassification``) trainable by ``method``.

    LoRA defaults follow the first study: ``alpha = 2 * rank``, dropout 0.05, query/value targets. IA3 defaults
    to the study's modules (`IA3_MODULES`) where it defined them, else PEFT's; ``feedforward_modules`` must be
    among ``targets``. ``"full"`` trains every parameter.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "full":
        for parameter in model.parameters():
            parameter.requires_grad_(True)
        return model
    model_type = model.config.model_type
    targets = tuple(targets) if targets else default_targets(model_type, method)
    check_targets(model, targets)
    if method == "lora":
        if rank <= 0:
            raise ValueError(f"LoRA rank must be a positive integer, got {rank}")
        check_rank(model, targets, rank)
        config = LoraConfig(
            task_type=TaskType.SEQ_CLS,
            r=rank,
            lora_alpha=2 * rank if alpha is None else alpha,
            lora_dropout=dropout,
            target_modules=list(targets),
        )
    else:
        feedforward = (
            tuple(feedforward_modules) if feedforward_modules is not None else default_feedforward(model_type, targets)
        )
        if not set(feedforward) <= set(targets):
            raise DataError(
                f"feedforward_modules {sorted(set(feedforward) - set(targets))} are not among the targets",
                field="feedforward_modules",
                fix="list every feed-forward module in targets too",
            )
        config = IA3Config(
            task_type=TaskType.SEQ_CLS, target_modules=list(targets), feedforward_modules=list(feedforward)
        )
    return get_peft_model(model, config)

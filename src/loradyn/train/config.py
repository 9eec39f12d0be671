"""One typed configuration per training run. Every default reproduces the first study's recipe."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from loradyn.data.noise import NOISE_KINDS
from loradyn.errors import DataError
from loradyn.models.adapters import METHODS

RECORD_LABELS = ("original", "noisy", "both")
PADDINGS = ("dynamic", "max_length")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass
class RunConfig:
    """A training run: model, method, data, recipe and what the recorder keeps.

    The recipe defaults are the first study's: AdamW at 2e-5 with weight decay 0.01, 6% linear warm-up then cosine
    decay to 10% of the peak, gradient clipping at 1.0, 5 epochs, batch 32, max length 128, class-weighted
    cross-entropy for training (unweighted for everything recorded), LoRA alpha = 2r and dropout 0.05, a probe of
    the tracked set every 100 optimizer steps and at every epoch end. The paper padded every batch to 128 tokens;
    loradyn's default is dynamic padding with length-grouped batches (``padding="max_length"``,
    ``group_by_length=False`` is the paper's way), which changes speed, not the maths.
    """

    model: str = field(default="minilm", metadata={"help": "alias (minilm, smollm2-135m), hub id or folder"})
    method: str = field(default="lora", metadata={"help": "lora, ia3 or full"})
    rank: int = field(default=16, metadata={"help": "LoRA rank r (the paper: 4 and 16)"})
    alpha: float | None = field(default=None, metadata={"help": "LoRA alpha; None means 2r"})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout"})
    disable_dropout: bool = field(
        default=False, metadata={"help": "zero every dropout of the model, for bit-comparable runs (not the paper)"}
    )
    targets: list[str] | None = field(default=None, metadata={"help": "adapted modules; None infers them"})

    dataset: str = field(default="chaosnli-snli", metadata={"help": "chaosnli-snli/-mnli, or snli, mnli, ag-news"})
    bulk: str = field(default="snli", metadata={"help": "standard dataset whose train split gives bulk items"})
    n_bulk: int = field(default=20_000, metadata={"help": "bulk items sampled into training (the paper: 20,000)"})
    n_tracked: int | None = field(default=None, metadata={"help": "tracked items kept; None keeps all"})
    tracked_ids: list[str] | None = field(default=None, metadata={"help": "explicit tracked ids (train items)"})
    n_validation: int | None = field(default=None, metadata={"help": "validation items kept; None keeps all"})
    data_dir: str | None = field(default=None, metadata={"help": "local data folder; None uses $LORADYN_DATA_DIR"})

    noise_rate: float = field(default=0.0, metadata={"help": "share of training labels flipped"})
    noise_kind: str = field(default="symmetric", metadata={"help": "symmetric, asymmetric or human"})
    noise_class_map: dict[int, int] | None = field(default=None, metadata={"help": "asymmetric noise map"})
    noise_seed: int = field(default=0, metadata={"help": "seed of the flips"})
    record_labels: str = field(default="original", metadata={"help": "record against original, noisy or both"})

    epochs: int = 5
    batch_size: int = 32
    grad_accum: int = field(default=1, metadata={"help": "micro-batches per optimizer step"})
    lr: float = 2e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    lr_floor: float = field(default=0.1, metadata={"help": "cosine decay floor as a share of the peak"})
    max_grad_norm: float = 1.0
    max_length: int = 128
    class_weighted: bool = True
    seed: int = field(default=42, metadata={"help": "run seed (the paper: 42, 123, 456)"})

    probe_every: int = field(default=100, metadata={"help": "optimizer steps between probes (also at epoch ends)"})
    probe_batch_size: int = 64
    record_inline: bool = field(default=True, metadata={"help": "record every training example at every step"})
    record_probs: bool = field(default=False, metadata={"help": "keep full class probabilities in probe rows"})
    padding: str = field(default="dynamic", metadata={"help": "dynamic, or max_length (the paper)"})
    group_by_length: bool = True
    precision: str = field(default="auto", metadata={"help": "auto (bf16/fp16 on GPU, fp32 on CPU), fp32, bf16, fp16"})

    def __post_init__(self) -> None:
        choices = {
            "method": METHODS,
            "noise_kind": NOISE_KINDS,
            "record_labels": RECORD_LABELS,
            "padding": PADDINGS,
            "precision": PRECISIONS,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if self.method == "lora" and self.rank <= 0:
            raise ValueError(f"rank must be a positive integer, got {self.rank}")
        positive = ("epochs", "batch_size", "grad_accum", "max_length", "probe_every", "probe_batch_size")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not 0 <= self.noise_rate < 1:
            raise ValueError(f"noise_rate must be in [0, 1), got {self.noise_rate}")
        if self.record_labels != "original" and self.noise_rate == 0:
            raise ValueError(
                f"record_labels={self.record_labels!r} needs noise_rate > 0: without noise there is no noisy label"
            )
        if self.method != "lora" and self.alpha is not None:
            raise ValueError(f"alpha applies to LoRA only, not to method={self.method!r}")
        if self.batch_size % self.grad_accum:
            raise ValueError(f"batch_size {self.batch_size} must be a multiple of grad_accum {self.grad_accum}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_config(path: str | os.PathLike[str] | None, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Read a YAML run configuration and apply ``key=value`` overrides (values parsed as YAML)."""
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise DataError("configuration file not found", path=path, fix="check the path")
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            raise DataError(f"malformed YAML ({err})", path=path, line=mark.line + 1 if mark else None) from None
        if not isinstance(values, dict):
            raise DataError("expected a mapping of field: value", path=path, fix="write one field per line")
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"--set expects key=value, got {item!r}")
        values[key.strip()] = yaml.safe_load(text)
    known = {f.name for f in dataclasses.fields(RunConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise DataError(
            f"unknown field(s) {', '.join(unknown)}",
            path=path,
            field=unknown[0],
            fix=f"use fields of RunConfig: {', '.join(sorted(known))}",
        )
    for f in dataclasses.fields(RunConfig):  # YAML reads 2e-5 (no dot) as text; a float field means a number
        value = values.get(f.name)
        if "float" in str(f.type) and isinstance(value, str):
            try:
                values[f.name] = float(value)
            except ValueError:
                raise DataError(f"expected a number, got {value!r}", path=path, field=f.name) from None
    return RunConfig(**values)

"""One typed configuration per training run. Every default reproduces the first study's recipe."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from loradyn.data.annotations import CATEGORIES
from loradyn.data.noise import NOISE_KINDS
from loradyn.data.standard import STANDARD
from loradyn.errors import DataError
from loradyn.io import read_text
from loradyn.models.methods import METHODS

RECORD_LABELS = ("original", "noisy", "both")
PADDINGS = ("dynamic", "max_length")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
LR_SCHEDULES = ("clamped_cosine", "rescaled_cosine")
NOISE_SCOPES = ("all", "clean_tracked")
TRACKERS = ("tensorboard", "wandb")
#: ``bulk_seed``'s value for a bulk draw with each run's own seed.
PER_SEED = "per-seed"
#: ``train_categories``'s value for the first study's balanced bucket.
BALANCED = "balanced"
#: Fields a killed run may be resumed with changed: they say where progress is reported, not what is trained.
RESUMABLE_CHANGES = frozenset({"report_to"})


@dataclass
class RunConfig:
    """A training run: model, method, data, recipe and what the recorder keeps.

    Every default reproduces the first study's code (BradySteele/lora-annotation-dynamics, scripts 08/10/16):
    AdamW at 2e-5 with weight decay 0.01 on every trainable parameter; ``int(0.06 T)`` warm-up steps from lr 0,
    then the clamped cosine ``max(0.1, 0.5 (1 + cos(pi p)))``; gradient clipping at 1.0; 5 epochs of random
    batches of 32; max length 128; cross-entropy weighted by inverse class frequency over the whole training set
    for training, unweighted for everything recorded; LoRA alpha = 2r, dropout 0.05 on the query/value
    projections; IA3 on query, value and the feed-forward input (BERT and RoBERTa); BERT reads no segment ids;
    20,000 bulk items of the tracked set's own task drawn once with seed 42 over the whole train split (his
    ``RandomState(42).choice``; ``bulk_seed: per-seed`` draws with the run seed, as his pilot runs behind Table 1's
    roberta-base LoRA SNLI rows did); a probe of the tracked set at step 0, every 100 optimizer steps and at every
    epoch end; every model loaded with fp32 weights, so that every trainable parameter is fp32 (he kept trainable
    parameters in fp32: a bf16 checkpoint such as Qwen2.5 would otherwise train a bf16 head, whose small updates
    round away).

    Departures that remain, and why:

    - Padding: each random batch is sorted by length and cut into micro-batches where it is cheapest
      (``micro_batch_overhead``), each padded to its own longest item (``padding="dynamic"``); their gradients add
      up to the whole batch's, class weighting over the whole batch included, so this changes speed, not the
      maths (equal within float32 rounding; tested). The study padded every item to 128 tokens
      (``padding="max_length"``), 4x slower here (`docs/benchmarks/engine.md`).
    - Batch order: a permutation drawn from ``(seed, epoch)`` rather than the study's unseeded ``DataLoader``
      shuffle from the global torch RNG, so that a killed run resumes exactly; the same distribution, not the
      same batches.
    - Decoders: micro-batches are combined exactly (the global batch's weighted mean); the study divided each
      micro-batch's own weighted mean by the accumulation count, which weights classes per micro-batch.
    - Bulk items whose text equals a ChaosNLI item's are dropped after the draw, so that no tracked item is trained
      on twice (the study kept them); the other drawn items are the study's draw. ChaosNLI comes from the dev sets:
      on the real data nothing is dropped.
    - Precision: ``precision="auto"`` turns on bf16/fp16 autocast on a GPU; the study trained encoders in fp32
      (pin ``precision: fp32``, as the paper presets do) and Qwen with fp16 base weights and fp32 trainable ones
      (loradyn: fp32 weights under fp16 autocast: the matrix products in fp16 as his, layer norms and softmax
      in fp32, more memory).
    - Bootstrap resamples (in `loradyn.analyze`) are drawn from one seed for every run over the same items
      (common random numbers), not from each run's seed: a Monte-Carlo difference only.
    - ``cache_trunk=True`` (opt-in; with dropout off and only modules above the encoder adapted) computes the
      frozen encoder's output once per example and reuses it: the same training (a recomputed pass could differ
      in the last float bits, padded to another batch's length; the recorded dynamics were identical where
      compared, `tests/test_trunk.py`); a run of ``configs/ract-agnews-capacity.yaml`` takes 51 s instead of 554 s
      (`docs/benchmarks/trunk.md`).
    - ``group_by_length=True`` is an opt-in speed option that changes which examples share a batch (the maths);
      ``lr_schedule="rescaled_cosine"`` (``0.1 + 0.9 * cosine``) is loradyn's earlier schedule, kept as an option.
    """

    model: str = field(default="minilm", metadata={"help": "alias (minilm, smollm2-135m), hub id or folder"})
    model_revision: str | None = field(
        default=None, metadata={"help": "hub model: a branch, tag or commit to pin (None: the hub's main)"}
    )
    method: str = field(default="lora", metadata={"help": "lora, ia3 or full"})
    rank: int = field(default=16, metadata={"help": "LoRA rank r (the paper: 4 and 16)"})
    alpha: float | None = field(default=None, metadata={"help": "LoRA alpha; None means 2r"})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout"})
    disable_dropout: bool = field(
        default=False, metadata={"help": "zero every dropout of the model, for bit-comparable runs (not the paper)"}
    )
    cache_trunk: bool = field(
        default=False,
        metadata={
            "help": "compute the frozen encoder's output once per example and reuse it (needs disable_dropout and "
            "targets above the encoder, e.g. [pooler.dense]); changes speed, not what trains"
        },
    )
    targets: list[str] | None = field(
        default=None, metadata={"help": "adapted modules (LoRA, IA3); None uses the study's per architecture"}
    )
    feedforward_modules: list[str] | None = field(
        default=None, metadata={"help": "IA3 modules scaled at their input; None uses the study's per architecture"}
    )
    segment_ids: bool = field(
        default=False,
        metadata={"help": "pass token_type_ids to models that take them (the study passed none: all zeros)"},
    )

    dataset: str = field(
        default="chaosnli-snli",
        metadata={
            "help": "chaosnli-snli/-mnli/-alphanli, snli, mnli, ag-news, a multi-annotator .csv/.tsv/.jsonl file, "
            "or a folder written by loradyn noise inject"
        },
    )
    bulk: str | None = field(
        default=None, metadata={"help": "standard dataset whose train split gives bulk items; None: the same task's"}
    )
    n_bulk: int | None = field(
        default=20_000, metadata={"help": "bulk items sampled into training (the paper: 20,000); all: every one"}
    )
    bulk_seed: int | str = field(
        default=42,
        metadata={
            "help": "seed of the bulk draw, the same for every run seed; per-seed: the run seed (the first study's "
            "pilot runs, which its Table 1 reuses for roberta-base LoRA on SNLI)"
        },
    )
    n_tracked: int | None = field(default=None, metadata={"help": "tracked items kept; None (all) keeps all"})
    tracked_ids: list[str] | None = field(default=None, metadata={"help": "explicit tracked ids (train items)"})
    n_validation: int | None = field(default=None, metadata={"help": "validation items kept; None (all) keeps all"})
    train_categories: list[str] | str | None = field(
        default=None,
        metadata={
            "help": "ChaosNLI items trained on, by entropy category (None: all), or balanced: as many of each "
            "category as the smallest has; every tracked item is still probed (the first study's entropy-bucket "
            "ablation)"
        },
    )
    folds: int | None = field(
        default=None, metadata={"help": "K-fold: hold out fold `fold` of `folds` from training, and track it"}
    )
    fold: int | None = field(default=None, metadata={"help": "which fold is held out (0-based; needs folds)"})
    exclude_ids: list[str] | None = field(
        default=None, metadata={"help": "training examples left out (e.g. those flagged as noisy)"}
    )
    downweight_ids: list[str] | None = field(
        default=None, metadata={"help": "training examples whose loss is multiplied by `downweight`"}
    )
    downweight: float = field(default=0.1, metadata={"help": "loss weight of downweight_ids, in (0, 1]"})
    data_dir: str | None = field(default=None, metadata={"help": "local data folder; None uses $LORADYN_DATA_DIR"})
    data_revision: str | None = field(
        default=None, metadata={"help": "hub datasets (no data_dir): a branch, tag or commit to pin (None: main)"}
    )
    data_mapping: dict[str, Any] | None = field(
        default=None,
        metadata={
            "help": "for a user's multi-annotator file: text_fields, count_fields or labels_field, label_names, "
            "id_field, gold_field (as `loradyn data summary` takes them)"
        },
    )

    noise_rate: float = field(default=0.0, metadata={"help": "share of labels flipped (of the noise scope)"})
    noise_kind: str = field(default="symmetric", metadata={"help": "symmetric, asymmetric or human"})
    noise_scope: str = field(
        default="all",
        metadata={"help": "all training labels, or clean_tracked: the first study's flips of clean tracked items"},
    )
    noise_class_map: dict[int, int] | None = field(default=None, metadata={"help": "asymmetric noise map"})
    noise_seed: int | None = field(default=None, metadata={"help": "seed of the flips; None uses the run seed"})
    record_labels: str = field(default="original", metadata={"help": "record against original, noisy or both"})

    epochs: int = field(default=5, metadata={"help": "passes over the training set"})
    batch_size: int = field(default=32, metadata={"help": "examples per optimizer step"})
    grad_accum: int = field(
        default=1, metadata={"help": "split each batch into at least this many micro-batches (memory; same maths)"}
    )
    micro_batch_overhead: int | None = field(
        default=None,
        metadata={
            "help": "cost of one more micro-batch in padded tokens, for cutting batches by length (speed only); "
            "None: 128 on a CPU, 1024 on a GPU"
        },
    )
    lr: float = field(default=2e-5, metadata={"help": "peak learning rate"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay, on every trainable parameter"})
    warmup_ratio: float = field(default=0.06, metadata={"help": "share of the steps in linear warm-up"})
    lr_schedule: str = field(
        default="clamped_cosine",
        metadata={"help": "clamped_cosine: max(floor, cosine) (the study); rescaled_cosine: floor + (1-floor) cosine"},
    )
    lr_floor: float = field(default=0.1, metadata={"help": "the schedule's floor, as a share of the peak"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient clipping norm"})
    max_length: int = field(default=128, metadata={"help": "tokens kept per example"})
    class_weighted: bool = field(default=True, metadata={"help": "inverse-frequency class weights in training"})
    soft_labels: bool = field(
        default=False,
        metadata={
            "help": "train items with annotator votes on KL(votes || model), the rest (bulk) on the weighted "
            "cross-entropy, each by its share of the batch (the first study's soft-label ablation); recorded "
            "losses stay cross-entropy against the majority label"
        },
    )
    seed: int = field(default=42, metadata={"help": "run seed (the paper: 42, 123, 456)"})

    probe_every: int = field(default=100, metadata={"help": "optimizer steps between probes (also at epoch ends)"})
    probe_batch_size: int = field(default=64, metadata={"help": "examples per probe batch"})
    record_inline: bool = field(default=True, metadata={"help": "record every training example at every step"})
    record_probs: bool = field(default=False, metadata={"help": "keep full class probabilities in probe rows"})
    gradient_cosine: bool = field(
        default=False,
        metadata={
            "help": "at every probe, the cosine between the mean gradients of the clean and the contested tracked "
            "items (train mode, unweighted CE, every trainable parameter: the first study's script 17), in run.json; "
            "on a forked RNG, so training is unchanged"
        },
    )
    gradient_norms: bool = field(
        default=False,
        metadata={
            "help": "after training, each tracked item's gradient norm (eval mode, one item at a time, unweighted CE, "
            "every trainable parameter: the first study's script 10), in gradient_norms.parquet"
        },
    )
    padding: str = field(default="dynamic", metadata={"help": "dynamic, or max_length (the paper)"})
    group_by_length: bool = field(
        default=False, metadata={"help": "batches of similar length: faster, but other batches (not the paper)"}
    )
    precision: str = field(default="auto", metadata={"help": "auto (bf16/fp16 on GPU, fp32 on CPU), fp32, bf16, fp16"})
    report_to: list[str] | None = field(
        default=None,
        metadata={
            "help": "experiment trackers, as the HF Trainer spells them: tensorboard, wandb; log the training loss, "
            "learning rate and accuracy per step, and validation accuracy per epoch, under <run>/tracking"
        },
    )

    def __post_init__(self) -> None:
        for name, hint in FIELD_TYPES.items():  # every field's type, and every number's range, in one place
            value = getattr(self, name)
            if not conforms(value, hint):
                raise ValueError(f"{name} must be {type_name(hint)}, got {shown(value)}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value}")
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= MAX_INT:
                raise ValueError(f"{name} must be below {MAX_INT:,} in size, got {shown(value)}")
        choices = {
            "method": METHODS,
            "noise_kind": NOISE_KINDS,
            "record_labels": RECORD_LABELS,
            "padding": PADDINGS,
            "precision": PRECISIONS,
            "lr_schedule": LR_SCHEDULES,
            "noise_scope": NOISE_SCOPES,
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
        for name in ITEM_COUNTS:
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise ValueError(f"{name} must be a positive number of items, or all; got {getattr(self, name)}")
        for key, value in (self.data_mapping or {}).items():
            if key not in DATA_MAPPING:
                raise ValueError(
                    f"data_mapping has an unknown key {key!r}; its keys are {', '.join(DATA_MAPPING)} (as `loradyn "
                    "data summary` takes them)"
                )
            if not conforms(value, DATA_MAPPING[key]):
                raise ValueError(f"data_mapping {key} must be {type_name(DATA_MAPPING[key])}, got {value!r}")
        for name in ("tracked_ids", "targets", "train_categories"):  # an empty list would train or track nothing
            if getattr(self, name) == []:
                raise ValueError(f"{name} must list at least one item, or be left out (null), got []")
        for name in ("seed", "bulk_seed", "noise_seed"):  # numpy's generators take no negative seed
            if isinstance(getattr(self, name), int) and getattr(self, name) < 0:
                raise ValueError(f"{name} must be zero or positive, got {getattr(self, name)}")
        if isinstance(self.bulk_seed, str) and self.bulk_seed != PER_SEED:
            raise ValueError(f"bulk_seed must be an integer or {PER_SEED!r}, got {self.bulk_seed!r}")
        if self.bulk is not None and self.bulk not in STANDARD:
            raise ValueError(f"bulk must be one of {', '.join(STANDARD)}, got {self.bulk!r}")
        if self.bulk is not None and self.dataset in STANDARD:
            raise ValueError(f"bulk adds items to an annotated dataset; {self.dataset} trains on its own items")
        if self.noise_kind == "asymmetric" and self.noise_rate > 0 and not self.noise_class_map:
            raise ValueError("noise_class_map is needed by noise_kind=asymmetric, e.g. {0: 1, 1: 2, 2: 0}")
        ranges = {
            "lr": (0, None, "a positive learning rate"),
            "max_grad_norm": (0, None, "a positive clipping norm (a negative one ascends the gradient)"),
            "lr_floor": (0, 1, "a share of the peak learning rate, in [0, 1]"),
            "weight_decay": (0, None, "zero or positive"),
            "warmup_ratio": (0, 1, "a share of the steps, in [0, 1]"),
            "lora_dropout": (0, 1, "a probability in [0, 1]"),
        }
        for name, (low, high, what) in ranges.items():
            value = getattr(self, name)
            if value < low or (high is not None and value > high) or (name in ("lr", "max_grad_norm") and value == 0):
                raise ValueError(f"{name} must be {what}, got {value}")
        if self.max_length < 8:
            raise ValueError(
                f"max_length must be at least 8 tokens (a pair of special tokens and some text), got {self.max_length}"
            )
        if self.cache_trunk and (self.method == "full" or not self.disable_dropout):
            raise ValueError(
                "cache_trunk reuses a frozen encoder's output, so it needs disable_dropout: true and a method that "
                f"leaves the encoder frozen (lora or ia3 on modules above it), got method={self.method!r}, "
                f"disable_dropout={self.disable_dropout}"
            )
        if self.alpha is not None and self.alpha <= 0:
            raise ValueError(f"alpha must be positive, got {self.alpha}")
        if self.record_labels != "original" and self.noise_rate == 0:
            raise ValueError(
                f"record_labels={self.record_labels!r} needs noise_rate > 0: without noise there is no noisy label"
            )
        if (self.folds is None) != (self.fold is None):
            raise ValueError("folds and fold go together: folds=K and fold=0..K-1")
        if self.folds is not None:
            if self.folds < 2 or not 0 <= self.fold < self.folds:
                raise ValueError(f"need folds >= 2 and 0 <= fold < folds, got folds={self.folds}, fold={self.fold}")
            if self.tracked_ids is not None or self.n_tracked is not None:
                raise ValueError("with folds, the held-out fold is the tracked set: drop tracked_ids and n_tracked")
        if isinstance(self.train_categories, str) and self.train_categories != BALANCED:
            raise ValueError(
                f"train_categories must be a list of categories or {BALANCED!r}, got {self.train_categories!r}"
            )
        if isinstance(self.train_categories, list) and not set(self.train_categories) <= set(CATEGORIES):
            raise ValueError(f"train_categories must be among {', '.join(CATEGORIES)}, got {self.train_categories}")
        if not 0 < self.downweight <= 1:
            raise ValueError(f"downweight must be in (0, 1], got {self.downweight}")
        if self.micro_batch_overhead is not None and self.micro_batch_overhead < 0:
            raise ValueError(f"micro_batch_overhead must be >= 0 (padded tokens), got {self.micro_batch_overhead}")
        if self.grad_accum > self.batch_size:
            raise ValueError(
                f"grad_accum {self.grad_accum} exceeds batch_size {self.batch_size}: "
                "use at most one micro-batch per example"
            )
        if self.noise_scope == "clean_tracked" and self.noise_kind != "symmetric":
            raise ValueError(
                "noise_scope='clean_tracked' flips to a uniformly drawn other class: use noise_kind=symmetric"
            )
        unknown = sorted(set(self.report_to or ()) - set(TRACKERS))
        if unknown:
            raise ValueError(f"report_to takes {', '.join(TRACKERS)}; got {', '.join(unknown)}")
        for name in INERT[self.method]:  # one rule: a field the method does not read cannot be set for it
            if getattr(self, name) != _FIELD_DEFAULTS[name]:
                raise ValueError(
                    f"{name} applies to {APPLIES_TO[name]} only, not to method={self.method!r}; got "
                    f"{shown(getattr(self, name))}"
                )
        if self.soft_labels and self.dataset in STANDARD:
            raise ValueError(
                f"soft_labels needs annotator votes, and {self.dataset} has none: use a chaosnli-* dataset or a "
                "multi-annotator file"
            )
        if self.soft_labels and self.noise_scope == "clean_tracked" and self.noise_rate > 0:
            raise ValueError(
                "soft_labels trains the voted items on their votes, so noise_scope='clean_tracked' flips would not be "
                "trained on: use one or the other"
            )

    def trained(self) -> dict[str, Any]:
        """The configuration without the fields its method does not read: two configurations that train
        identically are equal here."""
        return trained_fields(self.to_dict())

    @property
    def bulk_draw_seed(self) -> int:
        """The seed the bulk items (and K-fold's folds) are drawn with."""
        return self.seed if self.bulk_seed == PER_SEED else self.bulk_seed

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


FIELD_TYPES = typing.get_type_hints(RunConfig)
#: Per method, the fields it does not read.
INERT = {
    "lora": ("feedforward_modules",),
    "ia3": ("rank", "alpha", "lora_dropout"),
    "full": ("rank", "alpha", "lora_dropout", "targets", "feedforward_modules"),
}
#: The methods that read each of those fields.
APPLIES_TO = {
    "rank": "LoRA",
    "alpha": "LoRA",
    "lora_dropout": "LoRA",
    "feedforward_modules": "IA3",
    "targets": "LoRA and IA3",
}
_FIELD_DEFAULTS = {
    f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
    for f in dataclasses.fields(RunConfig)
}


def trained_fields(config: dict[str, Any]) -> dict[str, Any]:
    """A configuration (a mapping, as run.json or a plan holds it) without the fields its method does not read:
    what decides whether two runs train the same, whichever loradyn wrote them (0.2.0 kept a sweep base's LoRA rank
    in its IA3 and full fine-tuning runs)."""
    return {k: v for k, v in config.items() if k not in INERT.get(config.get("method"), ())}


#: No integer field (rank, epochs, seed, item counts, ...) means anything at or beyond 2^31; larger values reach
#: C++ code as overflows.
MAX_INT = 2**31


def shown(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, so that an error never prints a huge value."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text):,} characters)"


def with_defaults(stored: dict[str, Any]) -> dict[str, Any]:
    """A configuration as a run or sweep file stored it (JSON), with every field added to `RunConfig` since then
    set to its default: a run made before a field existed was made with the field's default."""
    return {**_FIELD_DEFAULTS, **stored}


def stored_config(stored: Any, path: Path) -> dict[str, Any]:
    """A configuration as loradyn stored it (``run.json``'s ``config``), with later fields' defaults: a configuration
    with fields loradyn does not know is not a loradyn run (another tool's record), and a value of the wrong type
    (``rank: "sixteen"``) is refused before anything is computed from it. (Rules between fields are not checked
    again: a run made by an earlier loradyn keeps the rules it was made under.)"""
    if not isinstance(stored, dict):
        raise DataError("run.json has no config mapping", path=path, field="config", fix="re-record the run")
    unknown = sorted(set(stored) - set(FIELD_TYPES))
    if unknown:
        raise DataError(
            f"not a loradyn run: its config has fields loradyn does not know ({', '.join(map(str, unknown[:3]))})",
            path=path,
            field="config",
            fix="point at run directories made by loradyn train or loradyn sweep",
        )
    values = with_defaults(stored)
    for name, hint in FIELD_TYPES.items():
        value = values[name]
        if name == "noise_class_map" and isinstance(value, dict):  # JSON keeps mapping keys as text
            value = {int(k) if str(k).isdigit() else k: v for k, v in value.items()}
        if not conforms(value, hint):
            raise DataError(
                f"{name} must be {type_name(hint)}, got {shown(value)}",
                path=path,
                field=name,
                fix="re-record the run with loradyn (run.json is its record, not an input to edit)",
            )
    return values


#: What ``data_mapping`` takes: the fields of `loradyn.data.catalog.FileMapping`, as YAML writes them.
DATA_MAPPING = {
    "text_fields": list[str],
    "count_fields": list[str] | None,
    "labels_field": str | None,
    "label_names": list[str] | None,
    "id_field": str | None,
    "gold_field": str | None,
}

#: Item counts that take ``all`` (None: every item), in configurations and sweep files alike.
ITEM_COUNTS = ("n_bulk", "n_tracked", "n_validation")


def type_name(hint: Any) -> str:
    """A type hint as a reader would write it: ``int | null``."""
    return re.sub(r"<class '(\w+)'>", r"\1", str(hint)).replace("NoneType", "null").replace("None", "null")


def conforms(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of the type ``hint`` (ints are not bools; a float field takes ints too)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, arg) for arg in args)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is list:
        return isinstance(value, list) and all(conforms(item, args[0]) for item in value)
    if origin is dict:
        return isinstance(value, dict) and all(conforms(k, args[0]) and conforms(v, args[1]) for k, v in value.items())
    return True  # Any


def coerce(name: str, value: Any) -> Any:
    """A field's value as written in YAML, as the field takes it: ``all`` item counts as None, and a float field's
    number as a float (YAML reads ``2e-5``, no dot, as text)."""
    if value == "all" and name in ITEM_COUNTS:
        return None
    hint = FIELD_TYPES.get(name)
    if hint is not None and (hint is float or float in typing.get_args(hint)) and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


#: The most values a YAML document may expand to: aliases (``*name``) repeat their anchor's value, so a file of a
#: few hundred bytes can stand for billions of values (an "alias bomb"); a configuration or a sweep holds far fewer.
MAX_YAML_VALUES = 100_000


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML that refuses a key given twice in one mapping (plain YAML keeps the last silently), and a document
    whose aliases expand it beyond `MAX_YAML_VALUES` values (checked on the node graph, before anything is built)."""

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        if _expanded_size(node) > MAX_YAML_VALUES:
            raise DataError(
                f"the YAML expands to more than {MAX_YAML_VALUES:,} values through its aliases (*name)",
                path=getattr(self, "name", None),
                fix="write the values out, or use fewer aliases",
            )
        return self.construct_document(node)


def _expanded_size(node: yaml.Node) -> int:
    """How many values ``node`` stands for once every alias is expanded, counted once per distinct node (an alias
    is the same node object as its anchor), so that counting costs no more than the file."""
    sizes: dict[int, int] = {}

    def size(n: yaml.Node) -> int:
        if id(n) not in sizes:
            sizes[id(n)] = MAX_YAML_VALUES + 1  # until counted: an alias of a node inside itself expands forever
            if isinstance(n, yaml.MappingNode):
                children = [c for pair in n.value for c in pair]
            elif isinstance(n, yaml.SequenceNode):
                children = n.value
            else:
                children = []
            sizes[id(n)] = min(1 + sum(size(c) for c in children), MAX_YAML_VALUES + 1)
        return sizes[id(n)]

    return size(node)


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise DataError(
                f"the key {key!r} is given twice (lines {seen[key]} and {key_node.start_mark.line + 1})",
                path=getattr(loader, "name", None),
                line=key_node.start_mark.line + 1,
                field=str(key),
                fix="keep one of them",
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def read_yaml(path: Path) -> Any:
    """A YAML file, with located errors: unreadable, not UTF-8, malformed, or a key given twice."""
    text = read_text(path, what="YAML file")
    loader = _UniqueKeyLoader(text)
    loader.name = str(path)
    try:
        return loader.get_single_data()
    except RecursionError:
        raise DataError("the YAML is nested too deeply", path=path, fix="flatten the file") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        raise DataError(
            f"malformed YAML ({problem})",
            path=path,
            line=mark.line + 1 if mark else None,
            fix="check the indentation and the quoting on that line",
        ) from None
    finally:
        loader.dispose()


def read_mapping(path: Path) -> dict[str, Any]:
    """A configuration file: YAML holding one mapping of field: value (empty for an empty file)."""
    if not path.exists():
        raise DataError("configuration file not found", path=path, fix="check the path")
    values = read_yaml(path) or {}
    if not isinstance(values, dict):
        raise DataError("expected a mapping of field: value", path=path, fix="write one field per line")
    return values


def set_values(
    overrides: list[str] | tuple[str, ...], *, option: str = "--set", example: str = "rank=16"
) -> dict[str, Any]:
    """``--set key=value`` overrides (or another option's, named ``option``) as a mapping, each value parsed as
    YAML as a file is (aliases bounded), with located errors."""
    values: dict[str, Any] = {}
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise DataError(f"expects key=value, got {shown(item)}", field=option, fix=f"write e.g. {option} {example}")
        loader = _UniqueKeyLoader(text)
        try:
            values[key] = loader.get_single_data()
        except (yaml.YAMLError, RecursionError):
            raise DataError(
                f"the value {shown(text)} is not valid YAML",
                field=f"{option} {key}",
                fix="quote it, or close its brackets",
            ) from None
        except DataError as err:
            raise DataError(err.message, field=f"{option} {key}", fix=err.fix) from None
        finally:
            loader.dispose()
    return values


def line_of(path: Path | None, key: str | None) -> int | None:
    """The line of ``key:`` in a YAML file (top-level or nested), if it is written there."""
    if path is None or key is None:
        return None
    text = read_text(path)
    match = re.search(rf"^\s*{re.escape(key)}\s*:", text, flags=re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else None


def load_config(path: str | os.PathLike[str] | None, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Read a YAML run configuration and apply ``key=value`` overrides (values parsed as YAML).

    Every error names where the value came from: the file, the line and the field, or the ``--set`` option."""
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        values = read_mapping(path)
    set_keys = set_values(overrides)
    values.update(set_keys)

    def where(name: str) -> dict[str, Any]:
        if name in set_keys:
            return {"path": None, "field": f"--set {name}"}
        return {"path": path, "line": line_of(path, name), "field": name if name in values else None}

    unknown = sorted(set(values) - set(FIELD_TYPES))
    if unknown:
        raise DataError(
            f"unknown field(s) {', '.join(unknown)}",
            **where(unknown[0]),
            fix=f"use fields of RunConfig: {', '.join(sorted(FIELD_TYPES))}",
        )
    values = {name: coerce(name, value) for name, value in values.items()}
    try:
        return RunConfig(**values)
    except ValueError as err:
        raise DataError(
            str(err),
            **where(str(err).split(" ", 1)[0]),
            fix="see RunConfig's help for the field (src/loradyn/train/config.py)",
        ) from None

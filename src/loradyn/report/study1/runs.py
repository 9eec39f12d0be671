"""A sweep's complete runs and its conditions (runs equal but for the seed), named in the papers' terms, and the
comparisons between conditions that the first study makes: by rank, LoRA against full fine-tuning, decoders against
encoders."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from loradyn.train.config import with_defaults

#: Fields that say which model, data and adapter a condition is; every other field that tells conditions of one
#: model, data and adapter apart is added to its name.
NAMED = ("model", "dataset", "method", "rank", "alpha")
#: Fields of the recipe that a sweep sets per adapter (a learning rate for LoRA, another for IA3 and full
#: fine-tuning): where one tells conditions apart, it joins the adapter's name, not the model and data's, so that
#: the adapters of one model and data stay side by side.
PER_ADAPTER = ("lr",)
METHOD_ORDER = {"lora": 0, "ia3": 1, "full": 2}


@dataclass
class SweepRun:
    """One complete run: ``run`` is its ``run.json``, ``metrics`` its ``metrics.parquet``, ``stats`` its
    ``stats.json``."""

    name: str
    path: Path
    run: dict[str, Any]
    metrics: pd.DataFrame
    stats: dict[str, Any]

    @property
    def config(self) -> dict[str, Any]:
        return with_defaults(self.run["config"])

    @property
    def seed(self) -> Any:
        return self.config.get("seed", self.run.get("seed"))

    @property
    def val_accuracy(self) -> float | None:
        """Validation accuracy after the last epoch (``final.val_accuracy``, else the last epoch's value)."""
        final = (self.run.get("final") or {}).get("val_accuracy")
        per_epoch = self.run.get("val_accuracy_per_epoch") or []
        return final if final is not None else (per_epoch[-1] if per_epoch else None)

    @property
    def has_entropy(self) -> bool:
        return "aulc" in self.stats.get("spearman", {}) and self.stats["spearman"]["aulc"].get("estimate") is not None


@dataclass
class Condition:
    """One condition: its config (without seed and data folder), its runs in seed order, and what ``analyze``
    aggregated for it (``summary``: an entry of ``analysis.json``'s conditions)."""

    config: dict[str, Any]
    runs: list[SweepRun]
    summary: dict[str, Any]
    extra: str = ""
    recipe: str = ""  # the `PER_ADAPTER` fields that set it apart, e.g. "lr=0.03"

    @property
    def model(self) -> str:
        return str(self.config.get("model", "?")).rstrip("/").rsplit("/", 1)[-1]

    @property
    def dataset(self) -> str:
        return str(self.config.get("dataset", "?"))

    @property
    def method(self) -> str:
        return str(self.config.get("method", "?"))

    @property
    def rank(self) -> int | None:
        return self.config.get("rank") if self.method == "lora" else None

    @property
    def adapter(self) -> str:
        return " ".join(p for p in (adapter_label(self.config), self.recipe) if p)

    @property
    def base(self) -> str:
        """The condition's name without its adapter: model, data and the fields that set it apart."""
        return ", ".join(p for p in (self.model, self.dataset, self.extra) if p)

    @property
    def label(self) -> str:
        return ", ".join(p for p in (self.model, self.dataset, self.adapter, self.extra) if p)

    @property
    def seeds(self) -> list[Any]:
        return [r.seed for r in self.runs]

    @property
    def decoder(self) -> bool | None:
        """Whether the model is decoder-only, as its runs recorded it (``run.json``'s ``model.decoder``)."""
        flags = {(r.run.get("model") or {}).get("decoder") for r in self.runs}
        return flags.pop() if len(flags) == 1 and None not in flags else None

    def key_without(self, fields: tuple[str, ...]) -> str:
        return json.dumps({k: v for k, v in sorted(self.config.items()) if k not in fields}, default=str)


def adapter_label(config: dict[str, Any]) -> str:
    method = config.get("method")
    if method == "lora":
        return f"LoRA r{config.get('rank')}"
    return {"ia3": "IA3", "full": "full FT"}.get(method, str(method))


def describe_conditions(entries: list[dict[str, Any]], groups: list[list[SweepRun]]) -> list[Condition]:
    """Conditions from ``analysis.json``'s entries and their runs, named and in a reading order: by dataset,
    model, distinguishing fields, then adapter (LoRA by rank, IA3, full fine-tuning). A condition's name adds the
    fields that tell it from another of the same model, data and adapter, where they depart from the defaults: a
    `PER_ADAPTER` field to the adapter ("IA3 lr=0.03"), any other to the model and data."""
    conditions = [
        Condition(e["condition"], sorted(runs, key=_seed_order), e) for e, runs in zip(entries, groups, strict=True)
    ]
    same_named: dict[str, list[Condition]] = defaultdict(list)
    for c in conditions:
        same_named[json.dumps([c.config.get(k) for k in NAMED], default=str)].append(c)
    distinguishing: list[str] = []
    for members in same_named.values():
        for key in members[0].config:
            values = {json.dumps(m.config.get(key), default=str) for m in members}
            if key not in NAMED and len(values) > 1 and key not in distinguishing:
                distinguishing.append(key)
    defaults = with_defaults({})

    def departures(keys: list[str], c: Condition) -> str:
        return ", ".join(f"{k}={_value(c.config.get(k))}" for k in keys if c.config.get(k) != defaults.get(k))

    for c in conditions:  # what sets it apart from the default recipe (the control of an ablation has no extra)
        c.extra = departures([k for k in distinguishing if k not in PER_ADAPTER], c)
        c.recipe = departures([k for k in distinguishing if k in PER_ADAPTER], c)
    return sorted(
        conditions,
        key=lambda c: (c.dataset, c.model, c.extra, METHOD_ORDER.get(c.method, 9), c.rank or 0, c.label),
    )


def _seed_order(run: SweepRun) -> tuple[bool, float, str]:
    numeric = isinstance(run.seed, int | float)
    return (not numeric, run.seed if numeric else 0.0, str(run.seed))


def _value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, list | dict) else str(value)


def rank_groups(conditions: list[Condition]) -> list[list[Condition]]:
    """LoRA conditions that differ only in their rank, two ranks or more, each group by rank."""
    groups: dict[str, list[Condition]] = defaultdict(list)
    for c in conditions:
        if c.method == "lora":
            groups[c.key_without(("rank", "alpha"))].append(c)
    return [sorted(g, key=lambda c: c.rank) for g in groups.values() if len({c.rank for c in g}) > 1]


def adapter_groups(conditions: list[Condition]) -> dict[str, list[Condition]]:
    """Conditions by base (model, data and the fields that set conditions of one adapter apart), in reading order:
    a field set per adapter, such as a learning rate for LoRA and another for full fine-tuning, keeps them together."""
    groups: dict[str, list[Condition]] = defaultdict(list)
    for c in conditions:
        groups[c.base].append(c)
    return dict(groups)

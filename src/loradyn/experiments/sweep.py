"""A sweep: a declarative YAML file expanded into named training runs, every one a complete `RunConfig`.

The format (every key optional; without ``grid``, one run per seed)::

    name: paper1                            # default: the file's stem
    base: {epochs: 5, precision: fp32}      # RunConfig fields shared by every run
    seeds: [42, 123, 456]                   # default: [42]; every run of the grid once per seed
    grid:                                   # a list of blocks; each is a cartesian product, the sweep their union
      - model: [roberta-base, bert-base-uncased]
        dataset: [chaosnli-snli, chaosnli-mnli]
        adapter: [{method: lora, rank: 4}, {method: lora, rank: 16}, {method: full}]
      - model: [microsoft/deberta-v3-base, Qwen/Qwen2.5-3B]
        dataset: [chaosnli-snli]
        adapter: [{method: lora, rank: 4}]
        seeds: [42]                         # a block's own seeds, in place of the top-level list
    overrides:                              # in order, onto every run whose config (so far) matches `when`
      - when: {model: Qwen/Qwen2.5-3B}
        set: {grad_accum: 8, probe_batch_size: 8}
    slurm: {timeout_min: 720, gpus_per_node: 1, slurm_partition: gpu}   # submitit parameters (--executor slurm)

An axis lists the values to try. A scalar value sets the RunConfig field the axis is named after; a mapping value
sets each of its fields, and the axis name is then only a label (``adapter`` above). A field that itself takes a
list or a mapping (``targets``, ``noise_class_map``) is given one value per item: ``targets: [[query, value]]``.
A lone value (``dataset: chaosnli-snli``) is an axis of one. The seed comes from ``seeds`` only: the top-level list,
or a block's own ``seeds`` for that block's runs. An override's
``when`` matches fields by equality (``{}`` matches every run); an override that matches no run is an error, as
it is most likely a typo. ``n_bulk``, ``n_tracked`` and ``n_validation`` take ``all``, as in a run configuration.

Run names. A run's name joins, with ``__``, the label of its value on every axis whose labels differ across the
sweep (axes in the order they first appear; an axis a block lacks adds nothing to that block's names), then
``s<seed>``: ``roberta-base__chaosnli-snli__lora-r4__s42``. A label is the value itself for text (a hub id or path
loses everything up to its last ``/``: ``microsoft/deberta-v3-base`` -> ``deberta-v3-base``); a short field name
and the number for numbers (``rank`` -> ``r4``, ``noise_rate`` -> ``noise0.3``, ``lr`` -> ``lr2e-05``, others the
field name: ``n_bulk2000``); the field name, or ``no-`` and the field name, for booleans; the field name and
``-none`` (``-all`` for item counts) for null; the field name and the items joined by ``+`` for a list
(``targets-query+value``); and the labels of a mapping's fields joined by ``-`` (``{method: lora, rank: 4}`` ->
``lora-r4``). Characters other than letters,
digits and ``. _ + -`` become ``-``. Names therefore depend on the whole sweep: adding a value to an axis that had
one can rename every run. A run's *condition* is its name without the seed part (the sweep's name when nothing
but the seed varies): the runs that `loradyn analyze` aggregates over seeds.

Everything is checked at load time, before anything runs: unknown keys and fields, value types, every expanded
run through ``RunConfig(...)``, datasets, duplicate names and overrides that match no run; each error names the
file, the line, the block and axis, and the fix.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import json
import os
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loradyn.data.catalog import CHAOSNLI_NAMES, is_annotated
from loradyn.data.injected import is_injected
from loradyn.data.standard import STANDARD
from loradyn.errors import DataError
from loradyn.experiments.sweepfile import read_yaml
from loradyn.train.config import FIELD_TYPES, INERT, ITEM_COUNTS, RunConfig, coerce, conforms, shown, type_name

TOP_LEVEL = ("name", "base", "seeds", "grid", "overrides", "slurm")
DEFAULT_SEEDS = (42,)

_FIELDS = {f.name: f for f in dataclasses.fields(RunConfig)}
_DEFAULTS = RunConfig().to_dict()
_SHORT = {
    "rank": "r",
    "alpha": "a",
    "noise_rate": "noise",
    "epochs": "ep",
    "batch_size": "bs",
    "grad_accum": "ga",
}


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep. ``condition`` is ``name`` without its seed part."""

    name: str
    condition: str
    seed: int
    config: RunConfig

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "condition": self.condition, "seed": self.seed, "config": self.config.to_dict()}


@dataclass(frozen=True)
class Sweep:
    """An expanded sweep: its runs in plan order (block by block, the last axis varying fastest, then the seeds)
    and the submitit parameters for ``--executor slurm``."""

    name: str
    runs: tuple[SweepRun, ...]
    slurm: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def plan(self) -> dict[str, Any]:
        """The plan a sweep directory keeps in ``sweep.json``: the name and every run's name, condition, seed and
        configuration."""
        return {"name": self.name, "runs": [run.to_dict() for run in self.runs]}

    def with_data_dir(self, data_dir: str | os.PathLike[str]) -> Sweep:
        """The same sweep with every run reading its data from ``data_dir``."""
        runs = tuple(
            dataclasses.replace(run, config=dataclasses.replace(run.config, data_dir=str(data_dir)))
            for run in self.runs
        )
        return dataclasses.replace(self, runs=runs)


def load_sweep(path: str | os.PathLike[str]) -> Sweep:
    """Read and expand a sweep file (see the module docstring for the format).

    Raises
    ------
    DataError
        On a missing or malformed file, or any spec error, naming the line and the fix.
    """
    path = Path(path)
    spec, lines = read_yaml(path)
    return _expand(spec, _Source(path, lines), default_name=path.stem)


def expand(spec: Mapping[str, Any], *, name: str = "sweep") -> Sweep:
    """Expand a sweep given as a mapping (what `load_sweep` reads from YAML); ``name`` unless it has its own."""
    return _expand(spec, _Source(None, {}), default_name=name)


# ------------------------------------------------------------------------------------------------ locating errors
def _describe(at: tuple) -> str:
    if len(at) > 1 and at[0] == "grid":
        parts = [f"grid block {at[1] + 1}"]
        if len(at) > 2:
            parts.append(f"axis '{at[2]}'")
        if len(at) > 3:
            parts.append(f"value {at[3] + 1}")
        return ", ".join(parts)
    if len(at) > 1 and at[0] == "overrides":
        return f"override {at[1] + 1}" + (f", {at[2]}" if len(at) > 2 else "")
    return str(at[0]) if at else "the sweep"


@dataclass(frozen=True)
class _Source:
    path: Path | None
    lines: dict[tuple, int]

    def error(self, message: str, at: tuple = (), *, field: str | None = None, fix: str | None = None) -> DataError:
        line = next((self.lines[at[:i]] for i in range(len(at), 0, -1) if at[:i] in self.lines), None)
        return DataError(f"{message} (in {_describe(at)})", path=self.path, line=line, field=field, fix=fix)


# ------------------------------------------------------------------------------------------------------ values
def _field_value(source: _Source, name: Any, value: Any, at: tuple, *, seed_allowed: bool = False) -> Any:
    """``value`` as RunConfig's field ``name`` takes it, or an error located at ``at``."""
    if name not in _FIELDS:
        close = difflib.get_close_matches(str(name), _FIELDS, n=1)
        fix = f"did you mean '{close[0]}'?" if close else f"use a RunConfig field: {', '.join(_FIELDS)}"
        raise source.error("unknown RunConfig field", at, field=str(name), fix=fix)
    if name == "seed" and not seed_allowed:
        raise source.error(
            "a run's seed comes from the top-level seeds list", at, field=name, fix="write seeds: [42, 123, 456]"
        )
    hint = FIELD_TYPES[name]
    value = coerce(name, value)
    if not conforms(value, hint):
        fix = f"give {name} as {type_name(hint)}: {_FIELDS[name].metadata.get('help')}"
        if typing.get_origin(hint) is not None and at[:1] == ("grid",):
            fix = f"an axis lists values: give a list-valued field one list per value, e.g. {name}: [[a, b]]"
        raise source.error(f"expected {type_name(hint)}, got {value!r}", at, field=name, fix=fix)
    # What `loradyn.train.rundata.build_run_data` accepts; RunConfig itself does not check data names.
    if name == "dataset" and not (is_annotated(value) or value in STANDARD or is_injected(value)):
        names = ", ".join([*CHAOSNLI_NAMES, *STANDARD])
        fix = f"use {names}, a .csv/.tsv/.jsonl multi-annotator file, or a folder written by loradyn noise inject"
        raise source.error(f"unknown dataset {value!r}", at, field=name, fix=fix)
    if name == "bulk" and value is not None and value not in STANDARD:
        raise source.error(f"unknown dataset {value!r}", at, field=name, fix=f"use one of {', '.join(STANDARD)}")
    return value


def _mapping(source: _Source, value: Any, at: tuple, what: str) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise source.error(f"expected a mapping, got {value!r}", at, fix=f"write {what} as key: value lines")
    return value


# -------------------------------------------------------------------------------------------------- the spec
@dataclass(frozen=True)
class _Candidate:
    """A run before naming: its block, its axis labels and its configuration with where each field came from."""

    block: int
    labels: dict[str, str]
    seed: int
    values: dict[str, Any]
    origin: dict[str, tuple]


def _expand(spec: Any, source: _Source, *, default_name: str) -> Sweep:
    spec = _mapping(source, spec, (), "the sweep")
    unknown = [key for key in spec if key not in TOP_LEVEL]
    if unknown:
        raise source.error(
            f"unknown key {unknown[0]!r}",
            (unknown[0],),
            fix=f"use the keys {', '.join(TOP_LEVEL)}; RunConfig fields shared by every run go under base:",
        )
    name = spec.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise source.error(f"expected a name, got {name!r}", ("name",), fix="write name: my-sweep")
    base = {
        k: _field_value(source, k, v, ("base", k))
        for k, v in _mapping(source, spec.get("base"), ("base",), "base").items()
    }
    seeds = _seeds(source, spec.get("seeds", list(DEFAULT_SEEDS)))
    blocks = _blocks(source, spec.get("grid"))
    overrides = _overrides(source, spec.get("overrides"))
    slurm = _mapping(source, spec.get("slurm"), ("slurm",), "slurm")

    candidates, used = [], set()
    for b, (block, block_seeds) in enumerate(blocks):
        for combination in itertools.product(*(enumerate(values) for values in block.values())):
            values, origin = {**_DEFAULTS, **base}, {k: ("base", k) for k in base}
            axis_fields = {}
            for axis, (i, fields) in zip(block, combination, strict=True):
                values.update(fields)
                origin.update({k: ("grid", b, axis, i) for k in fields})
                axis_fields[axis] = tuple(fields)
            for seed in block_seeds or seeds:
                run_values, run_origin = {**values, "seed": seed}, dict(origin)
                for o, (when, changes) in enumerate(overrides):
                    if all(run_values[k] == v for k, v in when.items()):
                        run_values.update(changes)
                        run_origin.update({k: ("overrides", o, "set", k) for k in changes})
                        used.add(o)
                for k in INERT[run_values["method"]]:  # base values apply where the method reads them
                    if run_origin.get(k, ("base",))[0] == "base":
                        run_values[k] = _DEFAULTS[k]
                        run_origin.pop(k, None)
                # labels from the values that train: an override that changes an axis's field renames the run
                labels = {a: "-".join(_label(k, run_values[k]) for k in fs) for a, fs in axis_fields.items()}
                candidates.append(_Candidate(b, labels, seed, run_values, run_origin))
    unused = sorted(set(range(len(overrides))) - used)
    if unused:
        raise source.error(
            "this override matches no run", ("overrides", unused[0], "when"), fix="check its when: values"
        )
    return Sweep(name=name, runs=_named_runs(source, candidates, name), slurm=slurm, path=source.path)


def _seeds(source: _Source, seeds: Any, at: tuple = ("seeds",)) -> list[int]:
    seeds = seeds if isinstance(seeds, list) else [seeds]
    bad = [s for s in seeds if not isinstance(s, int) or isinstance(s, bool) or s < 0]
    if not seeds or bad:
        got = shown(bad or seeds)
        raise source.error(f"expected a list of integer seeds, zero or positive, got {got}", at, fix="seeds: [42, 123]")
    if len(set(seeds)) < len(seeds):
        raise source.error("a seed is listed twice", at, fix="list each seed once")
    return seeds


def _blocks(source: _Source, grid: Any) -> list[tuple[dict[str, list[dict[str, Any]]], list[int] | None]]:
    """Each block as axis -> [the fields each value sets], checked, with its own seeds (None: the sweep's)."""
    if grid is None:
        return [({}, None)]
    if not isinstance(grid, list) or not grid:
        raise source.error(
            "expected a list of blocks", ("grid",), fix="write each block as '- axis: [values]' under grid:"
        )
    blocks = []
    for b, block in enumerate(grid):
        block = dict(_mapping(source, block, ("grid", b), "a block"))
        seeds = _seeds(source, block.pop("seeds"), ("grid", b, "seeds")) if "seeds" in block else None
        axes: dict[str, list[dict[str, Any]]] = {}
        set_by: dict[str, str] = {}
        for axis, values in block.items():
            values = values if isinstance(values, list) else [values]
            if not values:
                raise source.error("this axis has no values", ("grid", b, axis), fix="list at least one value")
            axes[axis] = [_axis_value(source, axis, value, ("grid", b, axis, i)) for i, value in enumerate(values)]
            for fields in axes[axis]:
                for name in fields:
                    if set_by.setdefault(name, axis) != axis:
                        raise source.error(
                            f"axes '{set_by[name]}' and '{axis}' both set {name}",
                            ("grid", b, axis),
                            field=name,
                            fix="set each field on one axis of a block",
                        )
        blocks.append((axes, seeds))
    return blocks


def _axis_value(source: _Source, axis: str, value: Any, at: tuple) -> dict[str, Any]:
    """The fields one axis value sets (its label in run names comes from them, once overrides have applied)."""
    if isinstance(value, dict) and not (axis in FIELD_TYPES and typing.get_origin(FIELD_TYPES[axis]) is not None):
        if not value:
            raise source.error("an empty mapping sets nothing", at, fix="give the mapping at least one field")
        return {k: _field_value(source, k, v, (*at, k)) for k, v in value.items()}
    if axis not in _FIELDS:
        close = difflib.get_close_matches(str(axis), _FIELDS, n=1)
        hint = f"did you mean '{close[0]}'? Or, as a" if close else "As a"
        raise source.error(
            "unknown RunConfig field",
            at[:-1],
            field=str(axis),
            fix=f"{hint} label for several fields, give mapping values: {axis}: [{{method: lora, rank: 4}}]",
        )
    return {axis: _field_value(source, axis, value, at)}


def _overrides(source: _Source, overrides: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each override as (when, set)."""
    if overrides is None:
        return []
    if not isinstance(overrides, list):
        raise source.error("expected a list of overrides", ("overrides",), fix="write '- when: {...}' items")
    checked = []
    for o, override in enumerate(overrides):
        at = ("overrides", o)
        override = _mapping(source, override, at, "an override")
        if set(override) - {"when", "set"} or "set" not in override:
            raise source.error(
                f"expected the keys when and set, got {', '.join(map(str, override))}",
                at,
                fix="write when: {field: value} and set: {field: value}",
            )
        when = _mapping(source, override.get("when"), (*at, "when"), "when")
        changes = _mapping(source, override["set"], (*at, "set"), "set")
        checked.append(
            (
                {k: _field_value(source, k, v, (*at, "when", k), seed_allowed=True) for k, v in when.items()},
                {k: _field_value(source, k, v, (*at, "set", k)) for k, v in changes.items()},
            )
        )
    return checked


# ------------------------------------------------------------------------------------------------------ names
def _label(name: str, value: Any) -> str:
    short = _SHORT.get(name, name)
    if isinstance(value, bool):
        text = name if value else f"no-{name}"
    elif isinstance(value, str):
        text = value.rstrip("/").rsplit("/", 1)[-1]
    elif isinstance(value, int):
        text = f"{short}{value}"
    elif isinstance(value, float):
        text = f"{short}{value:g}"
    elif value is None:
        text = f"{short}-all" if name in ITEM_COUNTS else f"{short}-none"
    elif isinstance(value, list):
        text = f"{short}-" + "+".join(map(str, value))
    else:
        text = f"{short}-" + "+".join(f"{k}{v}" for k, v in value.items())
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip("-.") or short


def _named_runs(source: _Source, candidates: list[_Candidate], sweep_name: str) -> tuple[SweepRun, ...]:
    axes = list(dict.fromkeys(axis for c in candidates for axis in c.labels))
    varying = [a for a in axes if len({c.labels.get(a) for c in candidates}) > 1]
    runs: list[SweepRun] = []
    seen: dict[str, _Candidate] = {}
    trains: dict[str, str] = {}  # what a run trains -> its name
    conditions: dict[str, _Candidate] = {}
    for c in candidates:
        condition = "__".join(c.labels[a] for a in varying if a in c.labels)
        name = f"{condition}__s{c.seed}" if condition else f"s{c.seed}"
        config = _validated(source, c, name)
        twin = trains.setdefault(json.dumps(config.trained(), sort_keys=True, default=str), name)
        if twin != name:
            raise source.error(
                f"runs {twin} and {name} would train identically", ("grid", c.block), fix="list each run once"
            )
        clash = seen.get(name.lower())
        if clash is not None:
            same = clash.values == c.values
            blocks = f"blocks {clash.block + 1} and {c.block + 1}" if clash.block != c.block else f"block {c.block + 1}"
            raise source.error(
                f"run {name} appears twice (grid {blocks})" if same else f"two different runs are named {name}",
                ("grid", c.block),
                fix="remove the run from one block"
                if same
                else "give them values with different labels (a hub id or path is labelled by its last part)",
            )
        seen[name.lower()] = c
        first = conditions.setdefault(condition, c)
        differ = sorted(k for k in c.values if k != "seed" and c.values[k] != first.values[k])
        if differ:
            raise source.error(
                f"runs of condition {condition or sweep_name} differ in {', '.join(differ)}, not only in their seed",
                c.origin.get(differ[0]) or first.origin.get(differ[0], ("overrides",)),
                fix="match overrides on grid values, not on the seed",
            )
        runs.append(SweepRun(name=name, condition=condition or sweep_name, seed=c.seed, config=config))
    return tuple(runs)


def _validated(source: _Source, c: _Candidate, name: str) -> RunConfig:
    try:
        return RunConfig(**c.values)
    except ValueError as err:
        named = re.match(r"[a-z_]+", str(err))
        field_name = named.group() if named and named.group() in c.origin else None
        at = c.origin[field_name] if field_name else ("grid", c.block)
        fix = f"change this value ({field_name}: {_FIELDS[field_name].metadata.get('help')})" if field_name else None
        raise source.error(f"run {name}: {err}", at, field=field_name, fix=fix) from None

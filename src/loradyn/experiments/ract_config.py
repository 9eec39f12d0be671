"""A RACT configuration: the noisy setting as a `RunConfig`, plus what RACT adds (the two ranks, how flags are
chosen, what is done with them, and an optional grid over noise rates and seeds).

In YAML it is one mapping: `RunConfig` fields and the RACT fields side by side (``configs/ract-agnews.yaml``).
RACT sets ``rank``, ``record_labels``, ``folds``/``fold``, ``exclude_ids`` and ``downweight_ids`` itself, step by
step, so a configuration may not set them.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loradyn.errors import DataError
from loradyn.experiments.detect import SCOPES
from loradyn.noisy.ract import DEFAULT_WINDOW, check_window
from loradyn.noisy.rows import SOURCES
from loradyn.train.config import RunConfig, coerce, line_of, read_mapping, set_values

THRESHOLDS = ("known_rate", "gmm", "trusted")
ACTIONS = ("remove", "downweight", "both")
GRID_FIELDS = ("noise_rate", "seed")
CURVE_FIELDS = ("rank", "noise_rate", "seed")
#: `RunConfig` fields that RACT sets per step.
SET_BY_RACT = ("rank", "record_labels", "folds", "fold", "exclude_ids", "downweight_ids")


@dataclass(frozen=True)
class Cell:
    """One point of the grid: its name (the folder of its runs) and its noisy setting."""

    name: str
    config: RunConfig


@dataclass
class RactConfig:
    """RACT (Rank-Aware Curriculum Training, the second study) over one noisy setting or a grid of them.

    Every default that mirrors the study says so; the rest are loradyn's choices, named as such.
    """

    run: RunConfig = field(metadata={"help": "the noisy setting: model, data, noise, recipe (rank is set by RACT)"})
    low_rank: int = field(default=4, metadata={"help": "rank of the low-rank adapter (the study: 4)"})
    high_rank: int = field(default=16, metadata={"help": "rank of the high-rank adapter (the study: 16)"})
    retrain_rank: int | None = field(
        default=None,
        metadata={
            "help": "rank retrained without the flagged examples, and of the noisy and clean baselines; None: "
            "high_rank, the adapter that can memorise the noise (loradyn's choice: the summary names none)"
        },
    )
    retrain_low: bool = field(
        default=False,
        metadata={
            "help": "also retrain the low-rank adapter without the flagged examples: the paper's RACT, as far as its "
            "text is known, retrains the low rank on the retained data"
        },
    )
    threshold: str = field(
        default="known_rate",
        metadata={
            "help": "which rank-discrepancy scores are flagged: known_rate (the top noise_rate share; the rate is "
            "known where noise is injected), gmm (a two-component mixture, no rate needed) or trusted "
            "(calibrated on trusted_size items whose truth is read from the run)"
        },
    )
    trusted_size: int | None = field(
        default=None, metadata={"help": "items of the trusted subset (threshold: trusted)"}
    )
    action: str = field(
        default="both", metadata={"help": "retrain with the flagged examples removed, down-weighted, or both"}
    )
    window: tuple[float, float] = field(
        default=DEFAULT_WINDOW, metadata={"help": "rank discrepancy's window, as fractions of training"}
    )
    source: str = field(default="auto", metadata={"help": "auto, probe or inline rows for the detectors"})
    scope: str = field(
        default="train", metadata={"help": "examples scored and flagged: train (all of them) or tracked"}
    )
    kfold: int | None = field(
        default=None,
        metadata={"help": "K: train K held-out folds of the noisy run, for confident learning in the side-by-side"},
    )
    grid: dict[str, list[Any]] | None = field(
        default=None, metadata={"help": "lists of noise_rate and/or seed values, crossed; None: the setting alone"}
    )
    rank_curve: dict[str, list[Any]] | None = field(
        default=None,
        metadata={
            "help": "claim (ii), the optimal rank: {rank: [1, 2, 4, 8, 16, 32], noise_rate: [0, 0.2, 0.4]}, each "
            "rank trained on each noise rate's labels at each seed (its own seed: [...], else the grid's); None: "
            "not run"
        },
    )

    def __post_init__(self) -> None:
        for name in ("low_rank", "high_rank", "retrain_rank", "trusted_size", "kfold"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise DataError(f"expected a positive integer, got {value!r}", field=name, fix=f"set {name}: 4")
        if not isinstance(self.retrain_low, bool):
            raise DataError(
                f"expected true or false, got {self.retrain_low!r}", field="retrain_low", fix="set retrain_low: true"
            )
        if self.low_rank == self.high_rank:
            raise DataError(
                f"low_rank and high_rank are both {self.low_rank}: rank discrepancy compares two different ranks",
                field="high_rank",
                fix="set a high_rank above low_rank, e.g. low_rank: 4 and high_rank: 16 (the study's)",
            )
        if self.low_rank > self.high_rank:
            raise DataError(
                f"low_rank {self.low_rank} is above high_rank {self.high_rank}",
                field="low_rank",
                fix=f"swap them: low_rank: {self.high_rank} and high_rank: {self.low_rank}",
            )
        choices = {"threshold": THRESHOLDS, "action": ACTIONS, "source": SOURCES, "scope": SCOPES}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise DataError(f"got {getattr(self, name)!r}", field=name, fix=f"use one of {', '.join(allowed)}")
        if (self.threshold == "trusted") != (self.trusted_size is not None):
            raise DataError(
                "threshold: trusted and trusted_size go together",
                field="trusted_size",
                fix="set both (e.g. threshold: trusted, trusted_size: 200), or neither",
            )
        if self.kfold == 1:
            raise DataError("one fold holds out everything", field="kfold", fix="use kfold: 2 or more (cleanlab: 5)")
        try:
            self.window = tuple(float(w) for w in self.window)
        except (TypeError, ValueError) as err:
            raise DataError(str(err), field="window", fix="write window: [0.5, 1.0]") from None
        check_window(self.window)
        if self.run.method != "lora":
            raise DataError(
                f"method {self.run.method!r} has no rank", field="method", fix="use method: lora (RACT compares ranks)"
            )
        self._check_grid()
        self._check_rank_curve()
        rates = {cell.config.noise_rate for cell in self.cells()}
        if rates == {0}:
            raise DataError(
                "every noise_rate is 0: there is no noise to detect",
                field="noise_rate",
                fix="set a noise_rate above 0 (the study: 0.3)",
            )
        if self.threshold == "trusted" and 0 in rates:
            raise DataError(
                "a trusted threshold is calibrated on noisy and clean items; noise_rate 0 has no noisy item",
                field="threshold",
                fix="leave noise_rate 0 out of the grid, or use threshold: known_rate or gmm",
            )

    @property
    def retrain(self) -> int:
        """The rank retrained, and of the baselines."""
        return self.high_rank if self.retrain_rank is None else self.retrain_rank

    def _check_grid(self) -> None:
        if self.grid is None:
            return
        if not isinstance(self.grid, dict) or not self.grid:
            raise DataError("expected a mapping", field="grid", fix="write grid: {noise_rate: [0.1, 0.3], seed: [42]}")
        unknown = sorted(set(self.grid) - set(GRID_FIELDS))
        if unknown:
            raise DataError(
                f"grid over {', '.join(unknown)}", field="grid", fix=f"grid over {' and '.join(GRID_FIELDS)} only"
            )
        for key, values in self.grid.items():
            if not isinstance(values, list) or not values or len(set(values)) != len(values):
                raise DataError(
                    f"grid {key} must be a list of distinct values, got {values!r}",
                    field=key,
                    fix=f"write {key}: [..] with each value once",
                )

    def _check_rank_curve(self) -> None:
        curve = self.rank_curve
        if curve is None:
            return
        if not isinstance(curve, dict) or not {"rank", "noise_rate"} <= set(curve) <= set(CURVE_FIELDS):
            raise DataError(
                f"expected a mapping of rank, noise_rate and (optionally) seed, got {curve!r}",
                field="rank_curve",
                fix="write rank_curve: {rank: [1, 2, 4, 8, 16, 32], noise_rate: [0.0, 0.2, 0.4]}",
            )
        for key, values in curve.items():
            if not isinstance(values, list) or not values or len(set(values)) != len(values):
                raise DataError(
                    f"rank_curve {key} must be a list of distinct values, got {values!r}",
                    field="rank_curve",
                    fix=f"write {key}: [..] with each value once",
                )
        if not all(isinstance(r, int) and not isinstance(r, bool) and r >= 1 for r in curve["rank"]):
            raise DataError(
                f"ranks must be positive integers, got {curve['rank']!r}",
                field="rank_curve",
                fix="write rank: [1, 4, 16]",
            )
        if not all(isinstance(r, int | float) and not isinstance(r, bool) and 0 <= r < 1 for r in curve["noise_rate"]):
            raise DataError(
                f"noise rates must lie in [0, 1), got {curve['noise_rate']!r}",
                field="rank_curve",
                fix="write noise_rate: [0.0, 0.2, 0.4]",
            )
        if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in curve.get("seed", [0])):
            raise DataError(
                f"seeds must be non-negative integers, got {curve['seed']!r}",
                field="rank_curve",
                fix="write seed: [42]",
            )

    def seeds(self) -> list[int]:
        """The grid's seeds (the setting's alone without a seed grid)."""
        return [int(seed) for seed in (self.grid or {}).get("seed", [self.run.seed])]

    def curve_cells(self) -> list[tuple[float, int, RunConfig]]:
        """Claim (ii)'s runs: (noise rate, rank, noisy setting) for every rank, noise rate and seed of ``rank_curve``
        (the setting is rank-free: the run's rank is set with it)."""
        if self.rank_curve is None:
            return []
        seeds = self.rank_curve.get("seed", self.seeds())
        return [
            (float(rate), int(rank), dataclasses.replace(self.run, noise_rate=float(rate), seed=seed))
            for rate, rank, seed in itertools.product(self.rank_curve["noise_rate"], self.rank_curve["rank"], seeds)
        ]

    def cells(self) -> list[Cell]:
        """The grid's noisy settings, noise rates outermost, each named ``noise<rate>-seed<seed>``."""
        grid = self.grid or {}
        rates = grid.get("noise_rate", [self.run.noise_rate])
        cells = []
        for rate, seed in itertools.product(rates, grid.get("seed", [self.run.seed])):
            try:
                config = dataclasses.replace(self.run, noise_rate=float(rate), seed=int(seed))
            except (TypeError, ValueError) as err:
                raise DataError(str(err), field="grid", fix="use noise rates in [0, 1) and integer seeds") from None
            cells.append(Cell(f"noise{float(rate):g}-seed{int(seed)}", config))
        return cells

    def to_dict(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "run"}
        run = {k: v for k, v in self.run.to_dict().items() if k not in SET_BY_RACT}
        return {**run, **values}


RACT_FIELDS = tuple(f.name for f in dataclasses.fields(RactConfig) if f.name != "run")


def load_ract_config(path: str | os.PathLike[str], overrides: list[str] | tuple[str, ...] = ()) -> RactConfig:
    """Read a RACT configuration from YAML and ``key=value`` overrides (values parsed as YAML).

    Every error names the file, the line of the field where it has one, the field and the fix.
    """
    path = Path(path)
    values = {**read_mapping(path), **set_values(overrides)}
    known = {f.name for f in dataclasses.fields(RunConfig)}
    unknown = sorted(set(values) - known - set(RACT_FIELDS))
    misplaced = [name for name in SET_BY_RACT if name in values]
    if unknown or misplaced:
        name = (unknown or misplaced)[0]
        raise DataError(
            f"unknown field {name}" if unknown else f"RACT sets {name} itself, step by step",
            path=path,
            line=line_of(path, name),
            field=name,
            fix=f"use fields of RunConfig, or RACT's: {', '.join(RACT_FIELDS)}"
            if unknown
            else "leave it out" + (" and set low_rank and high_rank" if name == "rank" else ""),
        )
    ract = {k: values.pop(k) for k in RACT_FIELDS if k in values}
    try:
        return RactConfig(run=RunConfig(**{k: coerce(k, v) for k, v in values.items()}), **ract)
    except DataError as err:
        raise DataError(err.message, path=path, line=line_of(path, err.field), field=err.field, fix=err.fix) from None
    except ValueError as err:  # RunConfig's own checks begin with the field's name
        name = str(err).split(" ", 1)[0]
        name = name if name in known else None
        raise DataError(
            str(err), path=path, line=line_of(path, name), field=name, fix="see RunConfig's help for the field"
        ) from None

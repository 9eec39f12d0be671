"""A run's last checkpoint, ``state/`` in its directory: the trainable weights, the optimizer and schedule, each
process's random state and where the run stands (`RunProgress`); written so that a kill at any moment leaves one
readable checkpoint (``state.tmp`` is renamed over ``state``, ``state.old`` kept until then), read back only as
tensors (no pickled code is ever loaded)."""

from __future__ import annotations

import json
import pickle
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator

from loradyn.errors import DataError
from loradyn.store import DynamicsStore

STATE = "state"


@dataclass
class RunProgress:
    """Where a run stands; saved with every checkpoint."""

    step: int = 0
    epoch: int = 0
    batch: int = 0  # next batch within the epoch
    checkpoint: int = 0  # probes taken
    part: int = 0  # parts written
    val_accuracy: list[float] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=lambda: {"train": 0.0, "probe": 0.0, "inline": 0.0})
    gradient_cosine: list[dict[str, float]] = field(default_factory=list)  # {"step", "cosine"} per checkpoint


@dataclass
class Checkpoints:
    """Save and restore the training state of the run in ``folder`` (its model, optimizer and schedule)."""

    folder: Path
    accelerator: Accelerator
    store: DynamicsStore
    model: torch.nn.Module
    optimizer: Any
    schedule: Any

    @property
    def _params(self) -> dict[str, torch.nn.Parameter]:
        return dict(self.accelerator.unwrap_model(self.model).named_parameters())

    def save(self, progress: RunProgress) -> None:
        """Write the checkpoint of ``progress`` (every process takes part; the main one writes the weights)."""
        accelerator, main = self.accelerator, self.accelerator.is_main_process
        accelerator.wait_for_everyone()
        tmp = self.folder / f"{STATE}.tmp"
        if main:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            trainable = {k: v.detach().cpu() for k, v in self._params.items() if v.requires_grad}
            torch.save(trainable, tmp / "model.pt")
            torch.save(self.optimizer.state_dict(), tmp / "optimizer.pt")
            torch.save(self.schedule.state_dict(), tmp / "schedule.pt")
            (tmp / "progress.json").write_text(json.dumps(progress.__dict__))
        accelerator.wait_for_everyone()
        torch.save(torch.get_rng_state(), tmp / f"rng-{accelerator.process_index}.pt")
        accelerator.wait_for_everyone()
        if main:
            old = self.folder / f"{STATE}.old"
            if (self.folder / STATE).exists():
                shutil.rmtree(old, ignore_errors=True)  # left by a kill after the last checkpoint's renames
                (self.folder / STATE).rename(old)
            tmp.rename(self.folder / STATE)
            shutil.rmtree(old, ignore_errors=True)
        accelerator.wait_for_everyone()

    def load(self) -> RunProgress | None:
        """Apply the last checkpoint and return its progress, or the one before it if the last cannot be read
        (``state.old`` survives a kill between the two renames of `save`); None (start over) if neither can."""
        for name in (STATE, f"{STATE}.old"):
            folder = self.folder / name
            if not (folder / "progress.json").is_file():
                continue
            try:
                saved, optimizer, schedule, rng, progress = self._read(folder)
            except (OSError, RuntimeError, ValueError, TypeError, KeyError, EOFError, pickle.UnpicklingError) as err:
                print(f"{self.folder.name}: cannot read {folder} ({type(err).__name__}: {err})", file=sys.stderr)
                continue
            # parts the checkpoint relies on must be there, unless the store was finalized (killed while finishing)
            missing = [] if self.store.finalized() else self.store.missing_parts(progress.part)
            if missing:  # their rows cannot be recorded again: the model of those checkpoints is gone
                raise DataError(
                    f"cannot resume: {len(missing)} of the {progress.part} recorded parts the checkpoint relies on are "
                    f"missing (e.g. {missing[0]:08d}.parquet), so checkpoints of the dynamics would be lost",
                    path=self.store.parts,
                    fix="restore the missing parts, or train again from scratch with --force",
                )
            params = self._params
            with torch.no_grad():
                for key, value in saved.items():
                    params[key].copy_(value)
            self.optimizer.load_state_dict(optimizer)
            self.schedule.load_state_dict(schedule)
            torch.set_rng_state(rng)
            if self.accelerator.is_main_process:
                self.store.drop_parts_after(progress.part)
            return progress
        return None

    def discard(self) -> None:
        """Remove the checkpoint of a finished run."""
        shutil.rmtree(self.folder / STATE, ignore_errors=True)

    def _read(self, folder: Path) -> tuple:
        """Everything a checkpoint holds, read and checked before any of it is applied."""
        params = self._params
        saved = torch.load(folder / "model.pt", weights_only=True)
        if set(saved) != {k for k, v in params.items() if v.requires_grad}:
            raise KeyError(f"checkpoint does not fit the model ({sorted(set(saved) ^ set(params))[:3]})")
        optimizer = torch.load(folder / "optimizer.pt", weights_only=True)
        schedule = torch.load(folder / "schedule.pt", weights_only=True)
        rng = torch.load(folder / f"rng-{self.accelerator.process_index}.pt", weights_only=True)
        progress = RunProgress(**json.loads((folder / "progress.json").read_text(encoding="utf-8")))
        return saved, optimizer, schedule, rng, progress

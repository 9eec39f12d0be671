"""The dynamics store: one Parquet row per example x checkpoint, written in parts while a run goes and
consolidated into ``dynamics.parquet`` when it ends.

Columns
-------
run_id, example_id : str
checkpoint : int
    The recording's index within its mode: the probe number (0 is the probe before training) for
    ``mode == "probe"``; the optimizer step for ``mode == "inline"``.
step : int
    Optimizer steps taken when the logits were computed.
epoch : float
    Probes: ``step / steps_per_epoch``. Inline rows: the epoch the presentation belongs to.
mode : str
    ``"probe"`` (eval mode, no grad, over the tracked set) or ``"inline"`` (the training forward pass itself).
target : str
    ``"original"`` or ``"noisy"``: which labels ``label`` comes from.
label : int
    The label the loss was computed against.
loss, p_gold, pred, margin
    Unweighted cross-entropy (nats), softmax probability of ``label``, argmax class, and the logit of
    ``label`` minus the largest other logit.
probs : list[float], optional
    Every class probability, when the run keeps them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from loradyn.errors import DataError
from loradyn.io import read_json, read_parquet, write_atomic

REQUIRED_COLUMNS = (
    "run_id",
    "example_id",
    "checkpoint",
    "step",
    "epoch",
    "mode",
    "label",
    "loss",
    "p_gold",
    "pred",
    "margin",
)
DYNAMICS = "dynamics.parquet"
PARTS = "dynamics.parts"
#: Each tracked item's gradient norm on the final model, where the run measured them (``gradient_norms``).
GRADIENT_NORMS = "gradient_norms.parquet"


class DynamicsStore:
    """Append-only parts for one run directory; `finalize` turns them into ``dynamics.parquet``."""

    def __init__(self, run_dir: str | os.PathLike[str]) -> None:
        self.run_dir = Path(run_dir)
        self.parts = self.run_dir / PARTS

    def write_part(self, seq: int, frame: pd.DataFrame) -> None:
        """Write rows as part number ``seq`` (atomically; a part is either whole or absent)."""
        table = pa.Table.from_pandas(frame, preserve_index=False)
        write_atomic(self.parts / f"{seq:08d}.parquet", lambda tmp: pq.write_table(table, tmp))

    def finalized(self) -> bool:
        """Whether `finalize` has written ``dynamics.parquet`` and the parts are gone (a kill while a run finished)."""
        return (self.run_dir / DYNAMICS).is_file() and not any(self.parts.glob("*.parquet"))

    def missing_parts(self, last: int) -> list[int]:
        """The part numbers among 1..``last`` (the parts a checkpoint relies on) that are not on disk."""
        present = (
            {int(p.stem) for p in self.parts.glob("*.parquet") if p.stem.isdigit()} if self.parts.is_dir() else set()
        )
        return [seq for seq in range(1, last + 1) if seq not in present]

    def drop_parts_after(self, seq: int) -> None:
        """Remove parts newer than ``seq``: rows recorded after the checkpoint a run resumes from."""
        if self.parts.is_dir():
            for part in self.parts.glob("*.parquet"):
                if int(part.stem) > seq:
                    part.unlink()

    def finalize(self) -> Path:
        """Concatenate the parts, in order, into ``dynamics.parquet``, then remove them. Idempotent: the parts are
        first renamed aside (atomically), so a kill at any point leaves either the parts or the finished file."""
        target, done = self.run_dir / DYNAMICS, self.run_dir / f"{PARTS}.done"
        files = sorted(self.parts.glob("*.parquet"))
        if files:
            table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")
            write_atomic(target, lambda tmp: pq.write_table(table, tmp))
            shutil.rmtree(done, ignore_errors=True)
            self.parts.rename(done)
        elif not target.is_file():
            raise RuntimeError(f"no dynamics were recorded in {self.parts}")
        shutil.rmtree(done, ignore_errors=True)
        return target


#: Columns that must hold numbers, and the rows a store holds once: one per example, checkpoint, mode and target.
NUMERIC_COLUMNS = ("checkpoint", "step", "epoch", "label", "loss", "p_gold", "pred", "margin")
ROW_KEY = ("example_id", "checkpoint", "mode", "target")


def read_dynamics(run_dir: str | os.PathLike[str], *, mode: str | None = None) -> pd.DataFrame:
    """Read a run's dynamics (optionally one ``mode``), checking the columns downstream code relies on: present,
    numeric where they are numbers, and one row per example, checkpoint, mode (and target)."""
    path = Path(run_dir) / DYNAMICS
    if not path.is_file():
        raise DataError("no dynamics in this run directory", path=path, fix="point at a finished run directory")
    frame = read_parquet(path, filters=[("mode", "=", mode)] if mode else None)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame]
    if missing:
        raise DataError(f"missing columns {missing}", path=path, field=missing[0], fix="re-record the run")
    wrong = [c for c in NUMERIC_COLUMNS if not pd.api.types.is_numeric_dtype(frame[c])]
    if wrong:
        raise DataError(
            f"holds {frame[wrong[0]].dtype} values, not numbers (e.g. {frame[wrong[0]].iloc[0]!r})",
            path=path,
            field=wrong[0],
            fix="re-record the run; a store's numbers are written as numbers",
        )
    key = [c for c in ROW_KEY if c in frame]
    repeated = frame.duplicated(key)
    if repeated.any():
        first = frame.loc[repeated, key].iloc[0]
        raise DataError(
            f"{int(repeated.sum())} row(s) repeat an earlier row's {', '.join(key)}, e.g. "
            + ", ".join(f"{c} {first[c]}" for c in key),
            path=path,
            field=key[0],
            fix="re-record the run (or rebuild the store): each example has one row per checkpoint",
        )
    if mode in (None, "probe"):
        _check_probes(frame, Path(run_dir), path)
    return frame


def _check_probes(frame: pd.DataFrame, run_dir: Path, path: Path) -> None:
    """A finished run's dynamics hold every probe its ``run.json`` counts (checkpoints 0 .. n - 1): rows lost
    after the run ended (a part or a row group removed, a store rebuilt from some parts) would otherwise read as a
    shorter run with no missing cell."""
    run_json = run_dir / "run.json"
    if not run_json.is_file():
        return
    run = read_json(run_json, what="run record", fix="re-record the run, or point at another run directory")
    progress = run.get("progress") if isinstance(run, dict) and run.get("status") == "complete" else None
    probed = frame.loc[frame["mode"] == "probe", "checkpoint"].to_numpy(dtype=float)
    if not isinstance(progress, dict) or not isinstance(progress.get("checkpoints"), int) or not len(probed):
        return
    missing = np.setdiff1d(np.arange(progress["checkpoints"]), np.unique(probed[np.isfinite(probed)]))
    if len(missing):
        raise DataError(
            f"{len(missing)} of the {progress['checkpoints']} probe checkpoints that run.json records have no rows "
            f"(e.g. checkpoint {missing[0]}): the store lost them after the run ended",
            path=path,
            field="checkpoint",
            fix="train the run again into a new folder (its lost checkpoints cannot be recovered)",
        )

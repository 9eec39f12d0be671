"""A dataset with injected label noise, as ``loradyn noise inject`` writes it: a folder with ``examples.jsonl``
(and ``examples.parquet``, the same rows) and the manifest ``noise.json``. Training on it keeps the truth: the
labels trained on are ``label``, the original ones ``original_label``, and ``is_noisy`` is the mask."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from loradyn.data.examples import Examples, Task
from loradyn.errors import DataError
from loradyn.io import read_json, read_parquet

MANIFEST = "noise.json"


@dataclass(frozen=True)
class Injected:
    """``examples.labels`` are the noisy labels; ``original_labels`` (N,) and ``is_noisy`` (N,) the truth;
    ``source`` the dataset the noise was injected into (e.g. ``ag-news/train``)."""

    examples: Examples
    original_labels: np.ndarray
    is_noisy: np.ndarray
    source: str


def is_injected(name: str | os.PathLike[str]) -> bool:
    return (Path(name) / MANIFEST).is_file()


def read_injected(folder: str | os.PathLike[str]) -> Injected:
    """Read a ``noise inject`` folder, checking that its rows and manifest agree."""
    folder = Path(folder)
    manifest = _manifest(folder / MANIFEST)
    task = Task(**{k: tuple(v) if isinstance(v, list) else v for k, v in manifest["task"].items()})
    path = folder / "examples.parquet"
    if not path.is_file():
        raise DataError("no examples.parquet beside noise.json", path=folder, fix="run loradyn noise inject again")
    frame = read_parquet(path, fix="run loradyn noise inject again")
    missing = [c for c in ("example_id", *task.text_fields, "label", "original_label", "is_noisy") if c not in frame]
    if missing:
        raise DataError(f"missing columns {missing}", path=path, field=missing[0], fix="run loradyn noise inject again")
    if len(frame) != manifest["n_items"]:
        raise DataError(
            f"{len(frame)} rows but the manifest says {manifest['n_items']}",
            path=path,
            fix="the folder was edited; run loradyn noise inject again",
        )
    labels = frame["original_label"].to_numpy(dtype=int)
    return Injected(
        Examples(f"{manifest['dataset']}+noise", task, frame.drop(columns=["original_label", "is_noisy"])),
        labels,
        frame["is_noisy"].to_numpy(dtype=bool),
        manifest["dataset"],
    )


def _manifest(path: Path) -> dict[str, Any]:
    manifest = read_json(path, what="manifest", fix="run loradyn noise inject again")
    task = manifest.get("task") if isinstance(manifest, dict) else None
    if not isinstance(task, dict) or set(task) != {"name", "label_names", "text_fields"} or "n_items" not in manifest:
        raise DataError(
            "the manifest has no task (written by loradyn 0.1?)",
            path=path,
            field="task",
            fix="run loradyn noise inject again",
        )
    return manifest

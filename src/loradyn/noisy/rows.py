"""Which rows of the dynamics a detector reads: those against the labels trained on, from probes or the training
pass, covering the examples it scores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from loradyn.errors import DataError

Source = Literal["auto", "probe", "inline"]
SOURCES = ("auto", "probe", "inline")

#: The axis a source's recordings are ordered on: a probe is a checkpoint (its step); a training-pass row is one
#: presentation, one per example per epoch.
AXIS = {"probe": "step", "inline": "epoch"}


def check_source(source: str) -> None:
    if source not in SOURCES:
        raise DataError(
            f"source must be one of {', '.join(SOURCES)}, got {source!r}", field="source", fix="use one of them"
        )


def trained_rows(dynamics: pd.DataFrame) -> pd.DataFrame:
    """Rows recorded against the labels the run trained on (``target == "noisy"``): a detector does not know the
    truth, so it reads only what training saw."""
    if "target" not in dynamics:
        raise DataError(
            "the dynamics have no 'target' column, so the labels trained on cannot be told from the original ones",
            field="target",
            fix="re-record the run with loradyn train (record_labels='both')",
        )
    rows = dynamics[dynamics["target"] == "noisy"]
    if rows.empty:
        raise DataError(
            "no rows against the noisy labels",
            field="target",
            fix="train with noise_rate > 0 and record_labels='both' (or 'noisy')",
        )
    return rows


def covers(dynamics: pd.DataFrame, ids: Sequence[str] | np.ndarray, mode: str) -> bool:
    """Whether ``dynamics`` (already `trained_rows`) has rows of ``mode`` for every id in ``ids``."""
    present = dynamics.loc[dynamics["mode"] == mode, "example_id"].unique()
    return bool(np.isin(np.asarray(ids), present).all())


def resolve_source(frames: Sequence[pd.DataFrame], ids: Sequence[str] | np.ndarray, source: str) -> str:
    """``"auto"`` becomes ``"probe"`` when every frame has probe rows for all of ``ids``, else ``"inline"``; one
    source for all frames, so runs compared together are measured the same way."""
    check_source(source)
    if source != "auto":
        return source
    return "probe" if all(covers(frame, ids, "probe") for frame in frames) else "inline"


def select_rows(dynamics: pd.DataFrame, ids: Sequence[str] | np.ndarray, *, source: str) -> pd.DataFrame:
    """The trained-label rows of ``source`` (``"probe"`` or ``"inline"``; resolve ``"auto"`` first) for ``ids``,
    raising a `DataError` naming the examples that have none."""
    rows = trained_rows(dynamics)
    rows = rows[(rows["mode"] == source) & rows["example_id"].isin(np.asarray(ids))]
    missing = np.setdiff1d(np.asarray(ids), rows["example_id"].unique())
    if len(missing):
        fix = (
            "record the training pass (record_inline=True)"
            if source == "inline"
            else "use source='inline' (or 'auto'), or score only tracked examples"
        )
        raise DataError(
            f"{len(missing)} example(s) have no {source} rows against the noisy labels, e.g. {some(missing)}",
            field="example_id",
            fix=fix,
        )
    return rows


def final_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Each example's last recording (largest step): the final probe, or its last presentation in training."""
    return rows.sort_values(["example_id", "step"], kind="stable").drop_duplicates("example_id", keep="last")


def some(ids: Sequence[str] | np.ndarray | pd.Index, n: int = 3) -> list[str]:
    """The first ``n`` of ``ids`` as plain strings, to name examples in an error message."""
    return [str(i) for i in list(ids)[:n]]


def aligned(values: pd.Series, ids: Sequence[str] | np.ndarray) -> np.ndarray:
    """``values`` (indexed by example id) in the order of ``ids``, as a float array ``(N,)``."""
    return values.reindex(np.asarray(ids)).to_numpy(dtype=float)

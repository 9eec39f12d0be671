"""A run's optional measurements, beside its training loop: the first study's gradient cosine at every probe
(``gradient_cosine``) and gradient norms after training (``gradient_norms``), on the run's model and batches.
The maths is in `loradyn.train.gradients`; this is where a run takes them without changing what it trains."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import torch

from loradyn.train.gradients import clean_and_contested, example_gradient_norms, group_gradient_cosine
from loradyn.train.rundata import RunData

Batch = dict[str, torch.Tensor]


class GradientMeasurements:
    """Gradient measurements of one run. ``model`` gives the unwrapped model, ``batch`` the model's inputs for
    positions of the training set, ``autocast`` the run's mixed-precision context."""

    def __init__(
        self,
        data: RunData,
        ids: np.ndarray,
        *,
        model: Callable[[], torch.nn.Module],
        batch: Callable[[np.ndarray], Batch],
        autocast: Callable[[], contextlib.AbstractContextManager],
        batch_size: int,
        cosine: bool,
    ) -> None:
        self.data, self.ids, self.batch_size = data, ids, batch_size
        self._model, self._batch, self._autocast = model, batch, autocast
        self.groups = clean_and_contested(data) if cosine else None  # checked when the run is built

    def cosine(self, step: int, progress_seconds: dict[str, float]) -> dict[str, float]:
        """The clean-contested mean-gradient cosine, in train mode as the study measured it (dropout on), on a
        forked RNG so that the dropout masks of training are those of a run that does not measure it."""
        started = time.perf_counter()
        devices = list(range(torch.cuda.device_count()))
        with torch.random.fork_rng(devices=devices), self._measuring(training=True) as model:
            clean, contested = (self._batches(g, self.batch_size) for g in self.groups)
            cosine = group_gradient_cosine(model, clean, contested)
        progress_seconds["gradients"] = progress_seconds.get("gradients", 0.0) + time.perf_counter() - started
        return {"step": step, "cosine": cosine}

    def norms(self) -> pd.DataFrame:
        """Each tracked item's gradient norm on the final model, in eval mode, one item at a time (the study's)."""
        tracked = self.data.tracked
        with self._measuring(training=False) as model:
            norms = example_gradient_norms(model, self._batches(tracked, 1))
        return pd.DataFrame({"example_id": self.ids[tracked], "grad_norm": norms})

    def _batches(self, positions: np.ndarray, size: int) -> Iterator[Batch]:
        """Batches of ``positions`` in order, labelled with the original labels (what the probes measure)."""
        for start in range(0, len(positions), size):
            chunk = positions[start : start + size]
            batch = self._batch(chunk)
            batch["labels"] = torch.as_tensor(self.data.original_labels[chunk], device=batch["labels"].device)
            yield batch

    @contextlib.contextmanager
    def _measuring(self, *, training: bool) -> Iterator[torch.nn.Module]:
        """The model in train or eval mode, under the run's autocast; its mode is restored after."""
        model = self._model()
        was_training = model.training
        model.train(training)
        try:
            with self._autocast():
                yield model
        finally:
            model.train(was_training)

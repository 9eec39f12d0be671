"""The recorder inside a user's own Hugging Face ``Trainer`` script.

>>> from loradyn.train.callback import DynamicsCallback
>>> callback = DynamicsCallback("runs/mine", tracked, data_collator=collator, probe_every=100)
>>> Trainer(model=model, args=args, train_dataset=train, data_collator=collator, callbacks=[callback]).train()

``tracked`` is a tokenised ``datasets.Dataset`` with the model's input columns, ``labels`` and an id column
(``example_id``). The callback probes it (eval mode, no grad) at step 0, every ``probe_every`` optimizer steps
and at every epoch end, and writes ``dynamics.parquet`` and ``run.json`` to the run directory when training ends;
each probe is written as it is taken, so nothing recorded is lost if the script dies. It also writes
``examples.parquet`` (ids and labels), so ``loradyn analyze`` reads the run like any other. Inline rows need the
training forward pass, which a ``Trainer`` does not show callbacks: use ``loradyn train`` for those.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader
from transformers import TrainerCallback

from loradyn.io import write_atomic, write_json
from loradyn.store import DynamicsStore
from loradyn.train.recorder import Recorder, probe_logits


class DynamicsCallback(TrainerCallback):
    """Record probe dynamics of ``tracked`` during ``Trainer.train()`` into ``out_dir``."""

    def __init__(
        self,
        out_dir: str | os.PathLike[str],
        tracked: Any,
        *,
        data_collator: Any,
        id_column: str = "example_id",
        probe_every: int = 100,
        batch_size: int = 64,
    ) -> None:
        if probe_every <= 0:
            raise ValueError(f"probe_every must be positive, got {probe_every}")
        self.dir = Path(out_dir)
        self.ids = np.asarray(tracked[id_column])
        self.labels = np.asarray(tracked["labels"])
        self.inputs = tracked.remove_columns([id_column])
        self.collator = data_collator
        self.probe_every = probe_every
        self.batch_size = batch_size
        self.store = DynamicsStore(self.dir)
        self.recorder = Recorder(self.dir.name)
        self.checkpoint = 0
        self.last_step = -1

    def _probe(self, model: torch.nn.Module, step: int, epoch: float) -> None:
        if step == self.last_step:
            return
        loader = DataLoader(self.inputs, batch_size=self.batch_size, collate_fn=self.collator)
        device = next(model.parameters()).device
        batches = ({k: v.to(device) for k, v in batch.items()} for batch in loader)
        positions = [
            np.arange(i, min(i + self.batch_size, len(self.ids))) for i in range(0, len(self.ids), self.batch_size)
        ]
        logits = probe_logits(model, batches, positions, len(self.ids))
        self.recorder.add(
            mode="probe",
            example_ids=self.ids,
            logits=logits,
            labels={"original": self.labels},
            checkpoint=self.checkpoint,
            step=step,
            epoch=epoch,
        )
        self.checkpoint += 1
        self.last_step = step
        self.store.write_part(self.checkpoint, self.recorder.take())

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self._probe(model, state.global_step, state.epoch or 0.0)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.probe_every == 0:
            self._probe(model, state.global_step, state.epoch)

    def on_epoch_end(self, args, state, control, model=None, **kwargs):
        self._probe(model, state.global_step, state.epoch)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if state.is_world_process_zero:
            self.store.finalize()
            examples = pd.DataFrame(
                {"example_id": self.ids, "split": "train", "tracked": True, "label": self.labels}
            ).assign(original_label=self.labels)
            write_atomic(self.dir / "examples.parquet", lambda tmp: examples.to_parquet(tmp, index=False))
            write_json(
                self.dir / "run.json",
                {
                    "run_id": self.dir.name,
                    "status": "complete",
                    "config": {"source": "transformers.Trainer", "probe_every": self.probe_every, "seed": args.seed},
                    "seed": args.seed,
                    "progress": {"step": state.global_step, "checkpoints": self.checkpoint},
                    "n_tracked": len(self.ids),
                },
            )

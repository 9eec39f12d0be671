"""Experiment trackers (``report_to``), beside a run's training loop: accelerate's TensorBoard and W&B trackers,
opened in ``<run>/tracking``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from accelerate import Accelerator

from loradyn.train.config import RunConfig

TRACKING = "tracking"


def start_tracking(accelerator: Accelerator, config: RunConfig, run_dir: Path) -> None:
    """Open the trackers: TensorBoard under ``loradyn/``, W&B as project ``loradyn``, one W&B run per run directory,
    continued when a killed run resumes."""
    hparams = {k: v if isinstance(v, bool | int | float | str) else json.dumps(v) for k, v in config.to_dict().items()}
    wandb_id = hashlib.sha256(str(run_dir.resolve()).encode()).hexdigest()[:12]
    accelerator.init_trackers(
        "loradyn",
        config=hparams,
        init_kwargs={
            "wandb": {"name": run_dir.name, "id": wandb_id, "resume": "allow", "dir": str(run_dir / TRACKING)}
        },
    )

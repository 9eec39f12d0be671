"""The recorder: per-example loss, p(gold), prediction and margin, from eval-mode probes of the tracked set and
from the training forward pass itself (inline, as Dataset Cartography and AUM record)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F


def example_stats(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, np.ndarray]:
    """Per-example statistics of ``logits`` (B, K) against ``labels`` (B,), computed in float32.

    Returns ``loss`` (unweighted cross-entropy, nats), ``p_gold``, ``pred`` and ``margin`` (the label's logit minus
    the largest other logit, as AUM defines it), each of shape (B,), and ``probs`` (B, K).
    """
    logits = logits.detach().float()
    labels = labels.long()
    log_probs = F.log_softmax(logits, dim=-1)
    gold_logit = logits.gather(1, labels[:, None]).squeeze(1)
    others = logits.scatter(1, labels[:, None], float("-inf"))
    return {
        "loss": (-log_probs.gather(1, labels[:, None]).squeeze(1)).cpu().numpy(),
        "p_gold": log_probs.gather(1, labels[:, None]).squeeze(1).exp().cpu().numpy(),
        "pred": logits.argmax(dim=-1).cpu().numpy(),
        "margin": (gold_logit - others.max(dim=-1).values).cpu().numpy(),
        "probs": log_probs.exp().cpu().numpy(),
    }


@torch.inference_mode()
def probe_logits(
    model: torch.nn.Module, batches: Iterable[dict[str, torch.Tensor]], positions: Iterable[np.ndarray], n: int
) -> torch.Tensor:
    """Logits (n, K) of an eval-mode, no-grad pass, put back in example order; restores the model's mode."""
    was_training = model.training
    model.eval()
    out = None
    for batch, where in zip(batches, positions, strict=True):
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        logits = model(**inputs).logits.float()
        if out is None:
            out = torch.empty((n, logits.shape[-1]))
        out[torch.as_tensor(where)] = logits.cpu()
    model.train(was_training)
    return out


class Recorder:
    """Collects rows until `flush`; one instance per run (and per process)."""

    def __init__(self, run_id: str, *, keep_probs: bool = False) -> None:
        self.run_id = run_id
        self.keep_probs = keep_probs
        self._rows: list[pd.DataFrame] = []

    def add(
        self,
        *,
        mode: str,
        example_ids: np.ndarray,
        logits: torch.Tensor,
        labels: dict[str, np.ndarray],
        checkpoint: int,
        step: int,
        epoch: float,
    ) -> None:
        """Record ``logits`` of ``example_ids`` against each label set in ``labels`` (``{"original": …}``)."""
        for target, label in labels.items():
            stats = example_stats(logits, torch.as_tensor(label))
            frame = pd.DataFrame(
                {
                    "run_id": self.run_id,
                    "example_id": example_ids,
                    "checkpoint": np.int32(checkpoint),
                    "step": np.int32(step),
                    "epoch": np.float32(epoch),
                    "mode": mode,
                    "target": target,
                    "label": np.asarray(label, dtype=np.int8),
                    "loss": stats["loss"].astype(np.float32),
                    "p_gold": stats["p_gold"].astype(np.float32),
                    "pred": stats["pred"].astype(np.int8),
                    "margin": stats["margin"].astype(np.float32),
                }
            )
            if self.keep_probs and mode == "probe":
                frame["probs"] = list(stats["probs"].astype(np.float32))
            self._rows.append(frame)

    def take(self) -> pd.DataFrame | None:
        """The rows collected since the last call, as one frame (None if there are none)."""
        if not self._rows:
            return None
        frame = pd.concat(self._rows, ignore_index=True)
        self._rows.clear()
        return frame

"""The training loss of a global batch: the first study's class-weighted cross-entropy, each example counted by its
weight, or with ``soft_labels`` its mix of KL to the annotators' votes and weighted cross-entropy. A batch is
trained in pieces (micro-batches, processes); `Objective.of_batch` gives a loss per piece whose sum over the pieces
is the whole batch's loss, so their gradients add up to the batch's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from loradyn.errors import DataError
from loradyn.train.rundata import RunData

#: A piece's share of the batch loss from its logits (n, K), labels (n,) and positions in the training set (n,).
PieceLoss = Callable[[torch.Tensor, torch.Tensor, np.ndarray], torch.Tensor]


@dataclass(frozen=True)
class Objective:
    """``class_weights`` (K,) weight each label's cross-entropy (the study: inverse class frequency; ones when not
    class-weighted); ``example_weights`` (N,) each training example's loss (0 left out, ``downweight``, else 1).
    ``soft_targets`` (N, K) and ``voted`` (N,) turn on ``soft_labels`` (see `vote_distributions`). The class weights
    live on the model's device; the per-example tensors stay on the CPU and are indexed there."""

    class_weights: torch.Tensor
    example_weights: torch.Tensor
    soft_targets: torch.Tensor | None = None
    voted: torch.Tensor | None = None

    def of_batch(self, positions: np.ndarray, labels: np.ndarray) -> PieceLoss:
        """The loss of the global batch ``positions`` (training labels ``labels``), as the loss of each piece.

        Hard labels: ``sum_i e_i w_{y_i} CE_i / sum_i e_i w_{y_i}`` over the batch, the class-weighted mean.
        Soft labels: ``(|S| KL_S + |H| CE_H) / B``, the voted items S on their mean KL(votes || model), the others
        H on their class-weighted mean cross-entropy, sizes counted by example weight; per example that is
        ``e_i KL_i / B`` for S and ``e_i w_y CE_i |H| / (B D_H)`` for H, with ``D_H = sum_H e_i w_y``."""
        e = self.example_weights[positions]
        w = self.class_weights.cpu()[labels] * e
        if self.soft_targets is None:
            denominator = float(w.sum())
            return lambda logits, y, piece: self._weighted_ce(logits, y, piece).sum() / denominator
        voted = self.voted[positions]
        d_h, b, h = float(w[~voted].sum()), float(e.sum()), float(e[~voted].sum())
        soft_scale, hard_scale = 1.0 / b, (h / (b * d_h) if d_h > 0 else 0.0)

        def piece_loss(logits: torch.Tensor, y: torch.Tensor, piece: np.ndarray) -> torch.Tensor:
            log_q = F.log_softmax(logits.float(), dim=-1)
            target = self.soft_targets[piece].to(log_q.device)
            kl = F.kl_div(log_q, target, reduction="none").sum(-1) * self.example_weights[piece].to(log_q.device)
            soft = self.voted[piece].to(log_q.device)
            return torch.where(soft, kl * soft_scale, self._weighted_ce(logits, y, piece) * hard_scale).sum()

        return piece_loss

    def _weighted_ce(self, logits: torch.Tensor, y: torch.Tensor, piece: np.ndarray) -> torch.Tensor:
        """``e_i w_{y_i} CE_i`` per example of a piece."""
        ce = F.cross_entropy(logits.float(), y, weight=self.class_weights, reduction="none")
        return ce * self.example_weights[piece].to(ce.device)


def vote_distributions(data: RunData) -> tuple[torch.Tensor, torch.Tensor]:
    """The soft targets of ``soft_labels``: each training example's annotator vote distribution, shape (N, K)
    (``votes_k / votes``; a row of zeros for an example without votes, such as a bulk item), and whether it has one,
    shape (N,)."""
    train = data.train
    counts = (
        train.frame[train.task.vote_columns()].to_numpy(dtype=np.float64, na_value=np.nan)
        if train.has_votes
        else np.full((len(train), len(train.task.label_names)), np.nan)
    )
    totals = counts.sum(axis=1)
    voted = ~np.isnan(totals) & (totals > 0)
    if not voted[data.weights > 0].any():
        raise DataError(
            f"soft_labels needs annotator votes, and no training example of {train.name} has any",
            field="soft_labels",
            fix="use a chaosnli-* dataset or a multi-annotator file, or set soft_labels: false",
        )
    probs = np.where(voted[:, None], counts / np.where(voted, totals, 1.0)[:, None], 0.0)
    return torch.as_tensor(probs, dtype=torch.float32), torch.as_tensor(voted)

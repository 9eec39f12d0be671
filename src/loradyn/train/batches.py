"""Tokenised examples and the batches built from them: random or length-grouped order, micro-batches cut by length,
and dynamic padding."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from loradyn.data.examples import Examples

#: How many batches' worth of examples are sorted by length together before batching, as in transformers'
#: LengthGroupedSampler: long enough to pad little, short enough to keep the order random.
MEGABATCH = 50


@dataclass(frozen=True)
class Encoded:
    """Token ids of ``N`` examples, unpadded, with their ids and labels."""

    ids: np.ndarray  # (N,) example ids
    input_ids: list[list[int]]
    token_type_ids: list[list[int]] | None
    labels: np.ndarray  # (N,) int

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(x) for x in self.input_ids), dtype=np.int64, count=len(self.input_ids))


def encode(
    examples: Examples, tokenizer: PreTrainedTokenizerBase, *, max_length: int, decoder: bool, labels: np.ndarray
) -> Encoded:
    """Tokenise ``examples`` for a classifier.

    Encoders read the text fields as a sentence pair; decoders read one string, ``"premise: … hypothesis: …"``
    as in the first study (generally ``"field: value"`` for each text field).
    """
    frame = examples.frame
    fields = examples.task.text_fields
    if decoder:
        texts = [
            " ".join(f"{f}: {v}" for f, v in zip(fields, row, strict=True))
            for row in frame[list(fields)].itertuples(index=False)
        ]
        tokens = tokenizer(texts, truncation=True, max_length=max_length)
    elif len(fields) == 2:
        tokens = tokenizer(list(frame[fields[0]]), list(frame[fields[1]]), truncation=True, max_length=max_length)
    else:
        joined = [f" {tokenizer.sep_token or ''} ".join(row) for row in frame[list(fields)].itertuples(index=False)]
        tokens = tokenizer(joined, truncation=True, max_length=max_length)
    return Encoded(
        ids=examples.ids,
        input_ids=tokens["input_ids"],
        token_type_ids=tokens.get("token_type_ids"),
        labels=np.asarray(labels, dtype=np.int64),
    )


def epoch_batches(
    lengths: np.ndarray, *, batch_size: int, seed: int, epoch: int, group_by_length: bool
) -> list[np.ndarray]:
    """The batches of one training epoch as arrays of positions; a pure function of ``(seed, epoch)``, so a
    resumed run sees the same order. With ``group_by_length`` each megabatch is sorted longest first, and the
    batches are then shuffled."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    if group_by_length:
        size = batch_size * MEGABATCH
        order = np.concatenate(
            [
                chunk[np.argsort(-lengths[chunk], kind="stable")]
                for chunk in np.split(order, range(size, len(order), size))
            ]
        )
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if group_by_length:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def micro_batches(
    positions: np.ndarray, lengths: np.ndarray, *, max_size: int, overhead: float, pad_to: int | None = None
) -> list[np.ndarray]:
    """Split one batch into micro-batches whose gradients add up to the batch's: the examples sorted by length
    (longest first) and cut where it is cheapest.

    Each micro-batch costs ``overhead`` (the fixed cost of a forward and backward pass, in padded tokens) plus its
    size times its longest example (``pad_to`` when every example is padded to one length); the cut minimising
    the total cost is found exactly (dynamic programming over the sorted batch), with at most ``max_size``
    examples per micro-batch (memory). Which examples share a micro-batch changes speed, not the gradient.
    """
    order = positions[np.argsort(-lengths[positions], kind="stable")]
    width = np.full(len(order), pad_to, dtype=float) if pad_to else lengths[order].astype(float)
    n = len(order)
    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    start = np.zeros(n + 1, dtype=np.int64)
    for end in range(1, n + 1):
        first = np.arange(max(0, end - max_size), end)  # a micro-batch order[first:end] is padded to width[first]
        cost = best[first] + overhead + (end - first) * width[first]
        start[end] = first[np.argmin(cost)]
        best[end] = cost.min()
    cuts, end = [], n
    while end > 0:
        cuts.append(order[start[end] : end])
        end = start[end]
    return cuts[::-1]


def probe_batches(lengths: np.ndarray, *, batch_size: int) -> list[np.ndarray]:
    """Batches for an eval-mode pass: sorted by length, so padding is minimal; order does not matter."""
    order = np.argsort(-lengths, kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def collate(
    encoded: Encoded, positions: np.ndarray, *, pad_id: int, left: bool, pad_to: int | None = None
) -> dict[str, torch.Tensor]:
    """Pad the examples at ``positions`` into tensors: to the longest in the batch, or to ``pad_to`` (the
    paper's fixed padding). Decoders pad on the left so the last token is the classified one."""
    rows = [encoded.input_ids[i] for i in positions]
    width = pad_to or max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    types = torch.zeros((len(rows), width), dtype=torch.long) if encoded.token_type_ids is not None else None
    for j, (i, row) in enumerate(zip(positions, rows, strict=True)):
        span = slice(width - len(row), width) if left else slice(0, len(row))
        input_ids[j, span] = torch.tensor(row)
        mask[j, span] = 1
        if types is not None:
            types[j, span] = torch.tensor(encoded.token_type_ids[i])
    batch = {"input_ids": input_ids, "attention_mask": mask, "labels": torch.as_tensor(encoded.labels[positions])}
    if types is not None:
        batch["token_type_ids"] = types
    return batch

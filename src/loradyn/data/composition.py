"""The first study's training-set composition: bulk items plus the ChaosNLI training part.

The training set is a seeded random sample of ``n_bulk`` items from a standard train split of the same task (the
paper: 20,000, drawn once with seed 42 for every run seed) plus the ChaosNLI training part labelled by its
majority vote; the tracked set (whose dynamics are recorded) is
that ChaosNLI training part, and the ChaosNLI held-out part is the validation set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from loradyn.data.examples import Examples
from loradyn.errors import DataError

#: The first study's bulk sample size.
PAPER_N_BULK = 20_000


@dataclass(frozen=True)
class Composition:
    """Training, tracked and validation sets of one study-1 condition.

    ``train`` has an ``origin`` column (``"bulk"`` or ``"annotated"``); ``annotations`` holds the annotation
    statistics of every ChaosNLI item with a ``split`` column (``"train"`` or ``"held_out"``).
    """

    train: Examples
    tracked_ids: tuple[str, ...]
    validation: Examples
    annotations: pd.DataFrame


def compose(
    chaos: Examples,
    bulk: Examples,
    *,
    n_bulk: int | None = PAPER_N_BULK,
    seed: int = 42,
    split_seed: int = 42,
    test_size: float = 0.2,
) -> Composition:
    """Compose a study-1 training set from ChaosNLI items (``chaos``) and a standard train split (``bulk``).

    ``n_bulk`` defaults to the paper's 20,000; it may be smaller, and it may not exceed the bulk items on hand
    (None takes them all).
    ``seed`` draws the bulk sample as the first study does, ``RandomState(seed).choice(N, n_bulk, replace=False)``
    sorted, over the whole split (the study used 42 for every run seed, so seeds differ in training noise only).
    Drawn pairs whose text equals a ChaosNLI item's are then dropped, so that no tracked item is seen twice: the
    other drawn items stay the study's draw whatever the split holds (dropping before the draw would shift every
    index after a shared pair). ChaosNLI comes from the dev sets, so on the real data nothing is dropped. The 80/20
    split of ``chaos`` is the paper's (`Examples.split` with ``split_seed=42``), and the tracked items keep its order.
    """
    if chaos.task != bulk.task:
        raise DataError(
            f"{chaos.name} and {bulk.name} are different tasks: {chaos.task.name} vs {bulk.task.name}",
            field="bulk",
            fix="take bulk items of the same task (snli or mnli for NLI), or leave bulk out",
        )
    if n_bulk is None:
        n_bulk = len(bulk)
    if not 0 <= n_bulk <= len(bulk):
        raise DataError(
            f"n_bulk={n_bulk} but {bulk.name} has {len(bulk)} items",
            field="n_bulk",
            fix=f"pass n_bulk between 0 and {len(bulk)}, or n_bulk: all",
        )
    drawn = np.sort(np.random.RandomState(seed).choice(len(bulk), size=n_bulk, replace=False))
    fields = list(chaos.task.text_fields)
    chaos_pairs = pd.MultiIndex.from_frame(chaos.frame[fields])
    sample = drawn[~pd.MultiIndex.from_frame(bulk.frame[fields].iloc[drawn]).isin(chaos_pairs)]
    tracked, held_out = chaos.split(test_size=test_size, seed=split_seed)
    columns = ["example_id", *fields, "label"]
    train = pd.concat(
        [
            bulk.frame.iloc[sample][columns].assign(origin="bulk"),
            tracked.frame[columns + chaos.task.vote_columns()].assign(origin="annotated"),  # bulk: no votes
        ],
        ignore_index=True,
    )
    annotations = pd.concat(
        [tracked.annotation_table().assign(split="train"), held_out.annotation_table().assign(split="held_out")],
        ignore_index=True,
    )
    return Composition(
        train=Examples(f"{chaos.name}+{bulk.name}", chaos.task, train),
        tracked_ids=tuple(tracked.ids),
        validation=held_out,
        annotations=annotations,
    )

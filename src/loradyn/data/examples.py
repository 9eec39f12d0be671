"""`Examples`: a labelled set of examples, one row each, with vote counts where annotations exist."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from loradyn.data import annotations as ann

if TYPE_CHECKING:
    import datasets


@dataclass(frozen=True)
class Task:
    """What a dataset asks: its class names (in index order) and the text fields a model reads."""

    name: str
    label_names: tuple[str, ...]
    text_fields: tuple[str, ...]

    def vote_columns(self) -> list[str]:
        return [f"votes_{label}" for label in self.label_names]


NLI = Task("nli", ("entailment", "neutral", "contradiction"), ("premise", "hypothesis"))
TOPIC = Task("topic", ("World", "Sports", "Business", "Sci/Tech"), ("text",))
ALPHA_NLI = Task("alphanli", ("hyp1", "hyp2"), ("obs1", "obs2", "hyp1", "hyp2"))


@dataclass(frozen=True)
class Examples:
    """Examples of one task.

    ``frame`` has one row per example and the columns ``example_id`` (str, unique), the task's text fields,
    ``label`` (int class index: the label a model trains on; for multi-annotator data, the majority vote), and
    where annotations exist one ``votes_<class>`` column per class and ``gold_label`` (the source dataset's own
    label, -1 where it has none). Everything the annotation statistics need is derived from the vote columns.
    """

    name: str
    task: Task
    frame: pd.DataFrame

    @classmethod
    def from_votes(cls, name: str, task: Task, frame: pd.DataFrame) -> Examples:
        """Examples whose ``label`` is the majority of their ``votes_<class>`` columns (tie rule: class order)."""
        frame = frame.copy()
        frame["label"] = ann.majority_label(frame[task.vote_columns()].to_numpy())
        return cls(name, task, frame)

    def to_dataset(self) -> datasets.Dataset:
        """The examples as a Hugging Face `datasets.Dataset`: one row each, the same columns, ``label`` (and
        ``gold_label``, where it is a class) a ``ClassLabel`` with the task's class names."""
        import datasets

        dataset = datasets.Dataset.from_pandas(self.frame, preserve_index=False)
        label = datasets.ClassLabel(names=list(self.task.label_names))
        dataset = dataset.cast_column("label", label)
        dataset.info.description = json.dumps({"loradyn_examples": self.name, "task": dataclasses.asdict(self.task)})
        return dataset

    @classmethod
    def from_dataset(cls, dataset: datasets.Dataset, task: Task | None = None, *, name: str | None = None) -> Examples:
        """Examples from a Hugging Face `datasets.Dataset` with the task's text fields and an int ``label``.

        ``task`` may be left out for a dataset written by `to_dataset`, or one whose ``label`` is a ``ClassLabel``
        with the class names of a task loradyn knows (NLI, AG News topics, alphaNLI). Without an ``example_id``
        column, ids are ``"{name}-{row}"``; ``votes_<class>`` columns, where present, are kept as annotations.
        """
        written = (
            json.loads(dataset.info.description or "{}") if (dataset.info.description or "").startswith("{") else {}
        )
        if task is None and "task" in written:
            saved = written["task"]
            task = Task(saved["name"], tuple(saved["label_names"]), tuple(saved["text_fields"]))
        feature = dataset.features.get("label")
        if task is None:
            names = tuple(getattr(feature, "names", ()))
            task = next((t for t in (NLI, TOPIC, ALPHA_NLI) if t.label_names == names), None)
            if task is None:
                raise ValueError(
                    f"cannot tell the task of a dataset whose label is {feature}: pass task=Task(name, label_names, "
                    "text_fields)"
                )
        name = name or written.get("loradyn_examples") or "dataset"
        missing = [c for c in ("label", *task.text_fields) if c not in dataset.column_names]
        if missing:
            raise ValueError(
                f"the dataset has no column {', '.join(missing)} (it has {', '.join(dataset.column_names)})"
            )
        frame = dataset.to_pandas()
        labels = frame["label"].to_numpy()
        if (
            not np.issubdtype(labels.dtype, np.integer)
            or labels.min(initial=0) < 0
            or labels.max(initial=0) >= len(task.label_names)
        ):
            raise ValueError(
                f"label must hold class indices 0..{len(task.label_names) - 1} of {', '.join(task.label_names)}"
            )
        if "example_id" not in frame:
            frame.insert(0, "example_id", [f"{name}-{row}" for row in range(len(frame))])
        frame["example_id"] = frame["example_id"].astype(str)
        if frame["example_id"].duplicated().any():
            raise ValueError(
                f"example_id must be unique; {frame['example_id'][frame['example_id'].duplicated()].iloc[0]!r} repeats"
            )
        return cls(name, task, frame)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def ids(self) -> np.ndarray:
        return self.frame["example_id"].to_numpy()

    @property
    def labels(self) -> np.ndarray:
        return self.frame["label"].to_numpy(dtype=int)

    @property
    def has_votes(self) -> bool:
        return all(column in self.frame for column in self.task.vote_columns())

    @property
    def counts(self) -> np.ndarray:
        """Vote counts, shape ``(N, K)`` in the task's class order."""
        if not self.has_votes:
            raise ValueError(f"{self.name} has no annotator votes")
        return self.frame[self.task.vote_columns()].to_numpy(dtype=np.int64)

    def take(self, positions: Sequence[int] | np.ndarray, *, name: str | None = None) -> Examples:
        """The examples at ``positions``, in that order."""
        return Examples(name or self.name, self.task, self.frame.iloc[np.asarray(positions)].reset_index(drop=True))

    def annotation_table(self, *, thresholds: tuple[float, float] | None = None) -> pd.DataFrame:
        """Per-item annotation statistics: ``example_id``, ``n_annotations``, ``entropy`` (nats),
        ``majority_label``, ``majority_confidence``, ``category`` and one ``soft_<class>`` column per class.
        ``thresholds`` default to `annotations.category_thresholds` of the task's class count."""
        counts = self.counts
        entropy = ann.annotation_entropy(counts)
        thresholds = thresholds or ann.category_thresholds(counts.shape[1])
        table = pd.DataFrame(
            {
                "example_id": self.ids,
                "n_annotations": counts.sum(axis=1),
                "entropy": entropy,
                "majority_label": ann.majority_label(counts),
                "majority_confidence": ann.majority_confidence(counts),
                "category": ann.entropy_category(entropy, thresholds=thresholds),
            }
        )
        soft = ann.soft_labels(counts)
        for k, label in enumerate(self.task.label_names):
            table[f"soft_{label}"] = soft[:, k]
        return table

    def split(self, *, test_size: float = 0.2, seed: int = 42) -> tuple[Examples, Examples]:
        """The first study's 80/20 split, stratified by entropy category code (see `annotations.stratified_split`),
        in the first study's order."""
        codes = ann.category_code(
            ann.annotation_entropy(self.counts), thresholds=ann.category_thresholds(self.counts.shape[1])
        )
        train, test = ann.stratified_split(codes, test_size=test_size, seed=seed, names=ann.CATEGORIES)
        return self.take(train, name=f"{self.name}/train"), self.take(test, name=f"{self.name}/held_out")

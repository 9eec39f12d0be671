"""The examples of one run: what it trains on, what it tracks, what it validates on, and their annotations."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from loradyn.data.annotations import CATEGORIES
from loradyn.data.catalog import CHAOSNLI_NAMES, FileMapping, is_annotated, load_examples
from loradyn.data.composition import compose
from loradyn.data.examples import Examples
from loradyn.data.injected import is_injected, read_injected
from loradyn.data.noise import NoisyLabels, clean_item_noise, inject_noise
from loradyn.data.standard import STANDARD, load_standard
from loradyn.errors import DataError
from loradyn.train.config import BALANCED, RunConfig

#: Seed of the tracked and validation subsets (``n_tracked``, ``n_validation``): fixed, so that every seed of a
#: ChaosNLI condition tracks the same items and its statistics can be aggregated. (For a standard dataset the
#: tracked items are drawn from the seed's own training sample.)
SUBSET_SEED = 42
#: The seed of the balanced bucket's draw (the author's fixed RandomState(42)).
BALANCED_SEED = 42

#: The held-out split a standard dataset validates on.
VALIDATION_SPLIT = {"snli": "validation", "mnli": "validation_matched", "ag-news": "test"}


@dataclass(frozen=True)
class RunData:
    """The examples of a run.

    ``train`` is every example the run may train on, its ``label`` the label trained on (noisy where noise was
    injected); ``original_labels`` and ``is_noisy`` keep the truth; ``weights`` is each one's weight in the training
    loss (1; 0 for an example left out: a held-out fold, an excluded id, a ChaosNLI category not trained on; or
    ``downweight``). ``tracked`` are positions in ``train`` whose dynamics are probed; they need not be trained on.
    ``table`` is one row per train and validation example with its annotations, lengths, weight and noise mask (the
    run directory's ``examples.parquet``).
    """

    train: Examples
    original_labels: np.ndarray
    is_noisy: np.ndarray
    weights: np.ndarray
    tracked: np.ndarray
    validation: Examples
    table: pd.DataFrame

    @property
    def n_bulk(self) -> int:
        """The bulk items composed in (``n_bulk`` less the drawn pairs equal to a tracked item; 0 without bulk)."""
        origin = self.train.frame.get("origin")
        return 0 if origin is None else int((origin == "bulk").sum())

    def fingerprint(self) -> dict[str, str]:
        """SHA-256 digests of what a run trains on and measures: ids, labels and weights of the training examples,
        the tracked positions and the validation set; a resumed run must match them."""

        def digest(*arrays: np.ndarray) -> str:
            h = hashlib.sha256()
            for array in arrays:
                h.update(np.ascontiguousarray(array.astype(str) if array.dtype == object else array).tobytes())
            return h.hexdigest()[:16]

        return {
            "train_ids": digest(self.train.ids),
            "labels": digest(self.train.labels, self.original_labels),
            "weights": digest(self.weights),
            "tracked": digest(self.tracked),
            "validation": digest(self.validation.ids, self.validation.labels),
        }


def _sample(n_items: int, n: int | None, seed: int, what: str) -> np.ndarray:
    if n is None:
        return np.arange(n_items)
    if not 0 < n <= n_items:
        raise DataError(
            f"{what}={n} but only {n_items} are available",
            field=what,
            fix=f"pass a value in 1..{n_items}, or {what}: all",
        )
    return np.sort(np.random.default_rng(seed).choice(n_items, size=n, replace=False))


def build_run_data(config: RunConfig) -> RunData:
    """Compose the run's examples from ``config`` (no model involved).

    ``dataset`` is a ChaosNLI part or a user's multi-annotator file (annotated: the 80/20 split's first part is
    tracked and trained on, with bulk items of ``bulk``, by default the same task's standard train split where
    there is one; the second part validates), a standard dataset (``n_bulk`` items of its train split; its own
    held-out split validates), or a folder written by ``loradyn noise inject`` (either of those, with its noise).
    """
    injected = read_injected(config.dataset) if is_injected(config.dataset) else None
    name = injected.source.split("/")[0] if injected else config.dataset
    if injected and config.noise_rate > 0:
        raise DataError(
            f"{config.dataset} already has injected noise", field="noise_rate", fix="set noise_rate: 0 to train on it"
        )
    if injected.examples.has_votes if injected else is_annotated(name):
        examples = (
            injected.examples if injected else load_examples(name, data_dir=config.data_dir, mapping=_mapping(config))
        )
        # the same task's train split, as the study; alphaNLI has none here, and the author's design adds no bulk
        bulk_name = config.bulk or CHAOSNLI_NAMES.get(name)
        bulk = (
            load_standard(bulk_name, "train", data_dir=config.data_dir, revision=config.data_revision)
            if bulk_name in STANDARD
            else None
        )
        try:
            composition = compose(
                examples, bulk or examples.take([]), n_bulk=config.n_bulk if bulk else 0, seed=config.bulk_draw_seed
            )
        except DataError as err:  # a user's file (or an injected folder) is where the fix goes
            if err.path is not None or not Path(config.dataset).exists():
                raise
            raise DataError(err.message, path=config.dataset, field=err.field, fix=err.fix) from None
        tracked_ids = np.asarray(composition.tracked_ids)[
            _sample(len(composition.tracked_ids), config.n_tracked, SUBSET_SEED, "n_tracked")
        ]
        frame = composition.train.frame
        keep = (frame["origin"] == "bulk") | frame["example_id"].isin(tracked_ids)
        train = Examples(composition.train.name, examples.task, frame[keep].reset_index(drop=True))
        validation = composition.validation
        annotations = composition.annotations.drop(columns="split")
    elif name in STANDARD:
        full = (
            injected.examples
            if injected
            else load_standard(name, "train", data_dir=config.data_dir, revision=config.data_revision)
        )
        train = full.take(_sample(len(full), config.n_bulk, config.bulk_draw_seed, "n_bulk"))
        train.frame["origin"] = "bulk"
        tracked_ids = train.ids[_sample(len(train), config.n_tracked, SUBSET_SEED, "n_tracked")]
        validation = load_standard(
            name, VALIDATION_SPLIT[name], data_dir=config.data_dir, revision=config.data_revision
        )
        annotations = None
    else:
        raise DataError(
            f"unknown dataset {config.dataset!r}",
            field="dataset",
            fix=f"use one of {', '.join([*CHAOSNLI_NAMES, *STANDARD])}, a .csv/.tsv/.jsonl multi-annotator file (with "
            "data_mapping), or a folder written by loradyn noise inject",
        )
    validation = validation.take(_sample(len(validation), config.n_validation, SUBSET_SEED, "n_validation"))
    if injected:  # validate against the truth, train on the noise
        truth = pd.Series(injected.original_labels, index=injected.examples.ids)
        validation = Examples(
            validation.name,
            validation.task,
            validation.frame.assign(
                label=validation.frame["example_id"].map(truth).fillna(validation.frame["label"]).astype(int)
            ),
        )

    original = train.labels
    is_noisy = np.zeros(len(train), dtype=bool)
    if injected:
        truth = pd.DataFrame(
            {"original": injected.original_labels, "noisy": injected.is_noisy}, index=injected.examples.ids
        )
        known = train.frame["example_id"].isin(truth.index).to_numpy()
        original = np.where(known, train.frame["example_id"].map(truth["original"]).fillna(-1), original).astype(int)
        is_noisy = known & train.frame["example_id"].map(truth["noisy"]).fillna(False).to_numpy(dtype=bool)
    if config.noise_rate > 0:
        noisy = _noisy_labels(config, train, annotations)
        train = Examples(train.name, train.task, train.frame.assign(label=noisy.labels))
        is_noisy = noisy.is_noisy

    if config.tracked_ids is not None:
        tracked_ids = _known(config.tracked_ids, train, "tracked_ids")
    weights = _weights(config, train, annotations)
    tracked = np.flatnonzero(np.isin(train.ids, tracked_ids))
    if config.folds is not None:
        tracked = _fold(config, train)
        weights[tracked] = 0.0
    if not (weights > 0).any():
        raise DataError(
            "no example is left to train on",
            field="train_categories",
            fix="check train_categories, exclude_ids and folds",
        )
    table = _example_table(train, original, is_noisy, weights, tracked, validation, annotations)
    return RunData(train, original, is_noisy, weights, tracked, validation, table)


def _mapping(config: RunConfig) -> FileMapping | None:
    """How a user's multi-annotator file maps onto loradyn (``data_mapping``), as `loradyn data summary` takes it."""
    return None if config.data_mapping is None else FileMapping(**config.data_mapping)  # keys checked by RunConfig


def _known(ids: list[str], train: Examples, field: str) -> list[str]:
    unknown = sorted(set(ids) - set(train.ids))
    if unknown:
        raise DataError(
            f"{len(unknown)} id(s) are not training examples of this run, e.g. {unknown[:3]}",
            field=field,
            fix="use ids of the run's training set (see examples.parquet of a run, or `loradyn data summary`)",
        )
    return ids


def _balanced(category: np.ndarray, chaos: np.ndarray) -> np.ndarray:
    """The first study's balanced bucket: as many annotated items of each entropy category as the smallest has,
    drawn with one ``RandomState(42)`` category by category (the same draw for every run seed)."""
    members = [np.flatnonzero(chaos & (category == c)) for c in CATEGORIES]
    size = min(len(m) for m in members)
    if size == 0:
        empty = [c for c, m in zip(CATEGORIES, members, strict=True) if not len(m)]
        raise DataError(
            f"the balanced bucket takes as many items of each category as the smallest has, and the training items "
            f"have no {' and no '.join(empty)} one",
            field="train_categories",
            fix="train on the categories the data has (e.g. train_categories: [clean]), or on all of them",
        )
    rng = np.random.RandomState(BALANCED_SEED)
    return np.sort(np.concatenate([rng.choice(m, size=size, replace=False) for m in members]))


def _weights(config: RunConfig, train: Examples, annotations: pd.DataFrame | None) -> np.ndarray:
    """Each example's weight in the training loss: 0 leaves it out, ``downweight`` for ``downweight_ids``."""
    weights = np.ones(len(train))
    if config.train_categories is not None:
        if annotations is None:
            raise DataError(
                "train_categories needs annotated items",
                field="train_categories",
                fix="use a chaosnli-* dataset or a multi-annotator file",
            )
        category = train.frame["example_id"].map(annotations.set_index("example_id")["category"]).to_numpy()
        chaos = (train.frame["origin"] == "annotated").to_numpy()
        if config.train_categories == BALANCED:
            weights[chaos & ~np.isin(np.arange(len(train)), _balanced(category, chaos))] = 0.0
        else:
            weights[chaos & ~np.isin(category, config.train_categories)] = 0.0
    if config.downweight_ids is not None:
        weights[np.isin(train.ids, _known(config.downweight_ids, train, "downweight_ids"))] = config.downweight
    if config.exclude_ids is not None:
        weights[np.isin(train.ids, _known(config.exclude_ids, train, "exclude_ids"))] = 0.0
    return weights


def _fold(config: RunConfig, train: Examples) -> np.ndarray:
    """Positions of fold ``fold`` of ``folds``, stratified by the labels trained on (scikit-learn's
    ``StratifiedKFold``, shuffled with the bulk draw's seed): held out of training, and tracked."""
    from sklearn.model_selection import StratifiedKFold

    labels = train.labels
    smallest = np.bincount(labels).min() if len(labels) else 0
    if smallest < config.folds:
        raise DataError(
            f"{config.folds} folds need at least {config.folds} training examples of every class; the smallest "
            f"class has {smallest}",
            field="folds",
            fix="use fewer folds or more training examples (n_bulk)",
        )
    splitter = StratifiedKFold(n_splits=config.folds, shuffle=True, random_state=config.bulk_draw_seed)
    _, held_out = list(splitter.split(np.zeros(len(labels)), labels))[config.fold]
    return held_out


def _noisy_labels(config: RunConfig, train: Examples, annotations: pd.DataFrame | None) -> NoisyLabels:
    """The labels trained on: noise over every training label, or the first study's flips of clean tracked
    items (taken in the study's tracked order; bulk labels untouched)."""
    n_classes = len(train.task.label_names)
    seed = config.seed if config.noise_seed is None else config.noise_seed
    if config.noise_scope == "clean_tracked":
        if annotations is None:
            raise DataError(
                "noise_scope='clean_tracked' needs annotated tracked items",
                field="noise_scope",
                fix="use a chaosnli-* dataset or a multi-annotator file",
            )
        tracked = np.flatnonzero(train.frame["origin"].to_numpy() == "annotated")
        entropy = annotations.set_index("example_id").loc[train.ids[tracked], "entropy"].to_numpy()
        flips = clean_item_noise(train.labels[tracked], entropy, rate=config.noise_rate, n_classes=n_classes, seed=seed)
        labels, is_noisy = train.labels.copy(), np.zeros(len(train), dtype=bool)
        labels[tracked], is_noisy[tracked] = flips.labels, flips.is_noisy
        return NoisyLabels(labels, is_noisy, flips.transition)
    counts = None
    if config.noise_kind == "human":
        if not train.has_votes or train.frame[train.task.vote_columns()].isna().any().any():
            raise DataError(
                "noise_kind='human' needs annotator votes for every training item",
                field="noise_kind",
                fix="use noise_kind: symmetric, or a dataset with votes and no bulk",
            )
        counts = train.counts
    return inject_noise(
        train.labels,
        rate=config.noise_rate,
        kind=config.noise_kind,
        n_classes=n_classes,
        class_map=config.noise_class_map,
        counts=counts,
        seed=seed,
    )


def _example_table(
    train: Examples,
    original: np.ndarray,
    is_noisy: np.ndarray,
    weights: np.ndarray,
    tracked: np.ndarray,
    validation: Examples,
    annotations: pd.DataFrame | None,
) -> pd.DataFrame:
    fields = list(train.task.text_fields)
    parts = []
    for split, examples in (("train", train), ("validation", validation)):
        votes = [c for c in examples.task.vote_columns() if c in examples.frame]
        part = examples.frame[["example_id", "label", *fields, *votes]].copy()  # the run keeps its items' text
        part["split"] = split
        for field in fields:
            part[f"{field}_words"] = examples.frame[field].str.split().str.len()
        part["total_words"] = part[[f"{f}_words" for f in fields]].sum(axis=1)
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    table["original_label"] = np.concatenate([original, validation.labels])
    table["is_noisy"] = np.concatenate([is_noisy, np.zeros(len(validation), dtype=bool)])
    table["weight"] = np.concatenate([weights, np.zeros(len(validation))])
    table["tracked"] = False
    table.loc[tracked, "tracked"] = True
    table["origin"] = np.concatenate([train.frame["origin"].to_numpy(), np.full(len(validation), "validation")])
    if annotations is not None:
        table = table.merge(annotations, on="example_id", how="left")
    return table

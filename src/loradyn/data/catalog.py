"""Load any dataset by name: a ChaosNLI part, a standard dataset split, or a path to a user's file."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from loradyn.data.chaosnli import load_chaosnli
from loradyn.data.examples import Examples
from loradyn.data.multiannotator import read_annotated
from loradyn.data.standard import STANDARD, load_standard
from loradyn.errors import DataError

CHAOSNLI_NAMES = {"chaosnli-snli": "snli", "chaosnli-mnli": "mnli", "chaosnli-alphanli": "alphanli"}
FILE_SUFFIXES = (".csv", ".tsv", ".jsonl")


@dataclass(frozen=True)
class FileMapping:
    """How the fields of a user's multi-annotator file map onto loradyn's (see `read_annotated`)."""

    text_fields: Sequence[str] = ("text",)
    count_fields: Sequence[str] | None = None
    labels_field: str | None = None
    label_names: Sequence[str] | None = None
    id_field: str | None = None
    gold_field: str | None = None


def is_annotated(name: str) -> bool:
    """Whether ``name`` is a multi-annotator dataset (a ChaosNLI part or a user's file)."""
    return name in CHAOSNLI_NAMES or Path(name).suffix in FILE_SUFFIXES


def load_examples(
    name: str,
    *,
    split: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    mapping: FileMapping | None = None,
) -> Examples:
    """Load ``name``: a ChaosNLI part (``chaosnli-snli``, ``chaosnli-mnli``, ``chaosnli-alphanli``), a split of a
    standard dataset (``snli``, ``mnli``, ``ag-news``; ``split`` defaults to ``train``) or a file path."""
    if name in CHAOSNLI_NAMES:
        return load_chaosnli(CHAOSNLI_NAMES[name], data_dir=data_dir)
    if name in STANDARD:
        return load_standard(name, split or "train", data_dir=data_dir)
    if Path(name).suffix in FILE_SUFFIXES:
        m = mapping or FileMapping()
        if m.count_fields is None and m.labels_field is None:
            raise DataError(
                "a multi-annotator file needs its annotations mapped",
                path=name,
                fix="pass --count-fields a,b,c (per-class count columns) or --labels-field F (a list of labels)",
            )
        return read_annotated(
            name,
            text_fields=m.text_fields,
            count_fields=m.count_fields,
            labels_field=m.labels_field,
            label_names=m.label_names,
            id_field=m.id_field,
            gold_field=m.gold_field,
        )
    known = [*CHAOSNLI_NAMES, *STANDARD]
    raise DataError(
        f"unknown dataset {name!r}",
        fix=f"use one of {', '.join(known)}, or a path ending in {', '.join(FILE_SUFFIXES)}",
    )

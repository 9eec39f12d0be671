"""A user's own multi-annotator data (CSV or JSON lines), so that the toolkit works beyond ChaosNLI.

Annotations come in one of two shapes, mapped by options:

* per-class count columns, e.g. ``count_fields=["yes", "no"]`` for a file with columns ``yes`` and ``no``;
* one field holding the list of labels the annotators gave, ``labels_field="annotations"``: a JSON list, or text
  of labels separated by ``|`` or ``,`` (``a|b|a``, ``0,1,1``).

A label (an annotator's or the gold one) is read by one rule whatever its type: as a class name first (``1`` and
``"1"`` both name the class called ``1``), and as a 0-based class index only when no class has that name.
"""

from __future__ import annotations

import collections
import csv
import io
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from loradyn.data.examples import Examples, Task
from loradyn.data.fields import check_unique_ids, check_votes, get_field, label_index, vote_count
from loradyn.errors import DataError
from loradyn.io import read_jsonl, read_text

#: The most classes a multi-annotator file may have.
MAX_CLASSES = 1_000


def read_annotated(
    path: str | os.PathLike[str],
    *,
    text_fields: Sequence[str],
    count_fields: Sequence[str] | None = None,
    labels_field: str | None = None,
    label_names: Sequence[str] | None = None,
    id_field: str | None = None,
    gold_field: str | None = None,
) -> Examples:
    """Read a multi-annotator file into `Examples` whose ``label`` is the majority vote.

    Parameters
    ----------
    path
        A ``.csv``, ``.tsv`` or ``.jsonl`` file, one item per row.
    text_fields
        The fields holding the text a model reads, e.g. ``["premise", "hypothesis"]``.
    count_fields, labels_field
        Exactly one: the per-class count columns, or the field listing each annotator's label.
    label_names
        Class names in index order. Defaults to ``count_fields``, or to the sorted labels seen in
        ``labels_field``. A label outside them is an error.
    id_field
        The field with a unique item id; without it ids are ``"{file stem}-{line}"``.
    gold_field
        An optional field with a single reference label (name or index); ``gold_label`` is -1 without it.
    """
    path = Path(path)
    if (count_fields is None) == (labels_field is None):
        raise DataError(
            "give exactly one of count_fields (per-class counts) or labels_field (annotator labels)",
            path=path,
            field="count_fields" if count_fields is not None else "labels_field",
            fix="pass --count-fields a,b,c or --labels-field F, not both",
        )
    _distinct(text_fields, "text_fields", path)
    if count_fields is not None:
        _distinct(count_fields, "count_fields", path)
    records = _read_records(path)
    if label_names is None:
        label_names = count_fields if count_fields is not None else _labels_seen(records, labels_field, path)
    label_names = tuple(str(name) for name in label_names)
    _distinct(label_names, "label_names", path)
    if count_fields is not None and len(label_names) != len(count_fields):
        raise DataError(
            f"{len(label_names)} label names for {len(count_fields)} count columns",
            path=path,
            field="label_names",
            fix="give one class name per count column, in the same order",
        )
    if len(label_names) > MAX_CLASSES:
        raise DataError(
            f"{len(label_names):,} classes; annotation entropy over more than {MAX_CLASSES:,} is not what loradyn "
            "measures (and a dense count table of that width would take minutes to build)",
            path=path,
            field=labels_field or "count_fields",
            fix="check that the labels field holds class labels, not free text or ids",
        )
    if len(label_names) < 2:
        raise DataError(
            f"only one class ({', '.join(label_names)}): annotation entropy and training need at least two",
            path=path,
            field=labels_field or "count_fields",
            fix="name every class with --label-names (one of them may get no votes), or check the labels field",
        )
    task = Task(path.stem, label_names, tuple(text_fields))
    names = {name: k for k, name in enumerate(label_names)}  # names first (see the module's note), in O(1)
    rows, lines = [], []
    for line, record in records:
        where = (path, line)
        if count_fields is not None:
            votes = [vote_count(get_field(record, field, (int, str), where), field, where) for field in count_fields]
            check_votes(votes, ",".join(count_fields), where)
        else:
            votes = [0] * len(task.label_names)
            for given in _annotator_labels(record, labels_field, where):
                votes[label_index(given, task.label_names, names, labels_field, where)] += 1
            check_votes(votes, labels_field, where)
        row = {"example_id": str(get_field(record, id_field, (str, int), where)) if id_field else f"{path.stem}-{line}"}
        for field in text_fields:
            row[field] = get_field(record, field, str, where)
        gold = -1
        if gold_field is not None:
            gold = label_index(
                get_field(record, gold_field, (str, int), where), task.label_names, names, gold_field, where
            )
        row["gold_label"] = gold
        row.update(zip(task.vote_columns(), votes, strict=True))
        rows.append(row)
        lines.append(line)
    check_unique_ids([row["example_id"] for row in rows], lines, path, id_field or "line")
    return Examples.from_votes(path.stem, task, pd.DataFrame(rows))


def _distinct(names: Sequence[str], field: str, path: Path) -> None:
    """Refuse an empty list of names, or one that names something twice (two classes would share one's votes)."""
    if not names:
        raise DataError("lists no name", path=path, field=field, fix="give one or more comma-separated names")
    counts = collections.Counter(names)
    repeated = sorted(name for name, n in counts.items() if n > 1)
    if repeated:
        raise DataError(
            f"{', '.join(map(repr, repeated))} given more than once in {', '.join(map(str, names))}",
            path=path,
            field=field,
            fix="name each one once",
        )


def _read_records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    if path.suffix == ".jsonl":
        return read_jsonl(path)
    if path.suffix not in (".csv", ".tsv"):
        raise DataError(f"unsupported file type {path.suffix!r}", path=path, fix="use .csv, .tsv or .jsonl")
    reader = csv.reader(io.StringIO(read_text(path), newline=""), delimiter="\t" if path.suffix == ".tsv" else ",")
    records, header = [], None
    try:
        for row in reader:
            if header is None:
                header = row
                _distinct(header, "header", path)
            elif row:
                if len(row) != len(header):
                    raise DataError(
                        f"{len(row)} cells under a header of {len(header)} columns ({', '.join(header)})",
                        path=path,
                        line=reader.line_num,
                        fix="give every row one cell per column; quote a cell that holds the delimiter",
                    )
                records.append((reader.line_num, dict(zip(header, row, strict=True))))
    except csv.Error as err:
        raise DataError(
            f"unreadable CSV ({err})",
            path=path,
            line=reader.line_num,
            fix="close the quote that opens there, or shorten the cell",
        ) from None
    if not records:
        raise DataError("file is empty (no rows below the header)", path=path, fix="add at least one item")
    return records


def _annotator_labels(record: dict[str, Any], field: str, where: tuple[Path, int]) -> list[Any]:
    value = get_field(record, field, (list, str), where)
    if isinstance(value, str):
        text = value.strip()
        try:
            value = (
                json.loads(text) if text.startswith("[") else [p.strip() for p in re.split(r"[|,]", text) if p.strip()]
            )
        except json.JSONDecodeError:
            raise DataError(
                "malformed JSON list of labels",
                path=where[0],
                line=where[1],
                field=field,
                fix='write the labels as a JSON list ["a", "b"], or as a|b or a,b',
            ) from None
    for given in value:
        if isinstance(given, bool) or not isinstance(given, str | int):
            raise DataError(
                f"an annotator label is {type(given).__name__} {given!r}, not a class name or index",
                path=where[0],
                line=where[1],
                field=field,
                fix='give one flat list of labels per item, e.g. ["a", "b", "a"]',
            )
    return value


def _labels_seen(records: list[tuple[int, dict[str, Any]]], field: str, path: Path) -> list[str]:
    seen = {str(label) for line, record in records for label in _annotator_labels(record, field, (path, line))}
    return sorted(seen)

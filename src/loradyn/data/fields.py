"""Checked access to fields of input records, so that every bad value is reported with its file and line."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from loradyn.errors import DataError

Where = tuple[str | os.PathLike[str], int]  # (file, line) of one record


def get_field(record: dict[str, Any], name: str, kind: type | tuple[type, ...], where: Where) -> Any:
    """``record[name]``, which must exist and be of ``kind`` (``bool`` never passes for ``int``)."""
    path, line = where
    if name not in record:
        raise DataError(
            f"missing field (the record has: {', '.join(sorted(record)) or 'nothing'})",
            path=path,
            line=line,
            field=name,
            fix=f"add '{name}' to every record, or map another field to it",
        )
    value = record[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        expected = " or ".join(k.__name__ for k in kinds)
        raise DataError(
            f"expected {expected}, got {type(value).__name__} {value!r}",
            path=path,
            line=line,
            field=name,
            fix=f"make '{name}' a {expected}",
        )
    return value


def label_index(value: Any, label_names: Sequence[str], aliases: dict[str, int], field: str, where: Where) -> int:
    """Map a label to its class index: an alias, else a class name, else a 0-based index (a number, or digits as
    text); anything else is an error."""
    path, line = where
    key = str(value)
    if key in aliases:  # first, so that 1-based codes such as alphaNLI's "1"/"2" are not read as indices
        return aliases[key]
    if key in label_names:  # a name first, whatever its type: 1 and "1" both name a class called "1"
        return label_names.index(key)
    index = value if isinstance(value, int) and not isinstance(value, bool) else int(key) if key.isdigit() else None
    if index is not None and 0 <= index < len(label_names):  # else a 0-based index, given as a number or as text
        return index
    accepted = [*range(len(label_names)), *label_names, *aliases]
    raise DataError(
        f"unknown label {value!r}",
        path=path,
        line=line,
        field=field,
        fix=f"use one of {', '.join(map(str, dict.fromkeys(accepted)))}",
    )


def check_unique_ids(ids: Sequence[str], lines: Sequence[int], path: str | os.PathLike[str], field: str) -> None:
    """Raise on the first id that repeats, naming both lines."""
    first_seen: dict[str, int] = {}
    for example_id, line in zip(ids, lines, strict=True):
        if example_id in first_seen:
            raise DataError(
                f"duplicate id {example_id!r} (first on line {first_seen[example_id]})",
                path=path,
                line=line,
                field=field,
                fix="give every item its own id",
            )
        first_seen[example_id] = line


#: The most votes one class of one item may have: far above any real annotation effort, and small enough that an
#: item's counts sum exactly in int64 and float64 (a count of 10^30 is a typo, not data).
MAX_VOTES = 10**9


def vote_count(value: Any, field: str, where: Where) -> int:
    """A non-negative whole number of votes, at most `MAX_VOTES`; CSV cells arrive as text and are parsed."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value)
    path, line = where
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DataError(
            f"vote count must be a non-negative integer, got {value!r}",
            path=path,
            line=line,
            field=field,
            fix="give whole numbers of votes",
        )
    if value > MAX_VOTES:
        raise DataError(
            f"vote count {value:.3g} is more than {MAX_VOTES:,} votes",
            path=path,
            line=line,
            field=field,
            fix="give the number of annotators who chose the class",
        )
    return value


def check_votes(votes: Sequence[int], field: str, where: Where) -> None:
    """Reject an item whose votes sum to zero: it has no annotation to learn from."""
    if sum(votes) == 0:
        path, line = where
        raise DataError(
            "vote counts sum to zero",
            path=path,
            line=line,
            field=field,
            fix="drop the item or give it at least one annotation",
        )

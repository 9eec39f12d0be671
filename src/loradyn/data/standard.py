"""Standard single-label datasets in the Hugging Face schema: SNLI, MNLI and AG News."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from loradyn.data import sources
from loradyn.data.examples import NLI, TOPIC, Examples, Task
from loradyn.data.fields import get_field, label_index
from loradyn.errors import DataError
from loradyn.io import read_jsonl

log = logging.getLogger(__name__)

#: The label SNLI gives pairs whose five annotators reached no majority; such pairs have no gold label.
NO_GOLD = -1


@dataclass(frozen=True)
class StandardDataset:
    """A dataset with one gold label per example, as stored locally (``folder``) and on the hub."""

    name: str
    task: Task
    folder: str
    hub_id: str
    hub_config: str | None
    splits: tuple[str, ...]


STANDARD = {
    "snli": StandardDataset("snli", NLI, "snli", "stanfordnlp/snli", None, ("train", "validation", "test")),
    "mnli": StandardDataset("mnli", NLI, "mnli", "nyu-mll/glue", "mnli", ("train", "validation_matched")),
    "ag-news": StandardDataset("ag-news", TOPIC, "ag_news", "fancyzhx/ag_news", None, ("train", "test")),
}


def load_standard(
    name: str,
    split: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    hub_id: str | None = None,
    revision: str | None = None,
) -> Examples:
    """Load one split of a standard dataset.

    From ``data_dir`` (or ``$LORADYN_DATA_DIR``) when set, else from the Hugging Face hub through ``datasets``
    (``hub_id`` overrides the dataset's usual hub id, e.g. with a mirror or a local folder in hub layout;
    ``revision`` pins a branch, tag or commit of it).
    Example ids are ``"{name}-{split}-{row}"`` with the row's 0-based position in the source, so they are
    stable for a given source. Rows labelled -1 (SNLI's "no gold label") are dropped, as is usual.
    """
    if name not in STANDARD:
        raise DataError(f"unknown dataset {name!r}", field="dataset", fix=f"choose one of {', '.join(STANDARD)}")
    spec = STANDARD[name]
    if split not in spec.splits:
        raise DataError(f"{name} has no split {split!r}", field="split", fix=f"choose one of {', '.join(spec.splits)}")
    local = sources.resolve_data_dir(data_dir)
    if local is not None:
        path = sources.local_file(local, spec.folder, f"{split}.jsonl")
        return _examples(spec, split, ((path, line, record) for line, record in read_jsonl(path)))
    return _examples(spec, split, _hub_records(spec, split, hub_id or spec.hub_id, revision))


def _hub_records(
    spec: StandardDataset, split: str, hub_id: str, revision: str | None
) -> Iterable[tuple[str, int, dict[str, Any]]]:
    import datasets

    source = f"hub:{hub_id}" + (f"@{revision}" if revision else "")
    source += (f"/{spec.hub_config}" if spec.hub_config else "") + f"[{split}]"
    try:
        table = datasets.load_dataset(hub_id, spec.hub_config, split=split, revision=revision)
    except (OSError, ConnectionError, ValueError) as err:  # offline, unreachable, or not on the hub
        raise DataError(
            f"no local data folder is set, so {spec.name} is loaded from the Hugging Face hub, which failed "
            f"({' '.join(str(err).split())})",
            path=source,
            fix=f"set --data-dir or {sources.DATA_DIR_ENV} to a folder laid out like ../shared/data "
            f"({spec.folder}/{split}.jsonl), or go online (unset HF_DATASETS_OFFLINE)",
        ) from None
    for row, record in enumerate(table):
        yield source, row + 1, record


def _examples(spec: StandardDataset, split: str, records: Iterable[tuple[Any, int, dict[str, Any]]]) -> Examples:
    rows, dropped = [], 0
    for row, (path, line, record) in enumerate(records):
        where = (path, line)
        label = get_field(record, "label", (int, str), where)
        if label == NO_GOLD:
            dropped += 1
            continue
        item = {"example_id": f"{spec.name}-{split}-{row}"}
        for field in spec.task.text_fields:
            item[field] = get_field(record, field, str, where)
        item["label"] = label_index(label, spec.task.label_names, {}, "label", where)
        rows.append(item)
    if dropped:
        log.info("%s/%s: dropped %d rows without a gold label", spec.name, split, dropped)
    if not rows:
        raise DataError(f"{spec.name}/{split} has no labelled rows", fix="check the source file")
    return Examples(f"{spec.name}/{split}", spec.task, pd.DataFrame(rows))

"""Reader for the official ChaosNLI v1.0 release files (Nie, Zhou and Bansal, 2020).

Each item carries 100 new annotator votes (``label_counter``), the original dataset's gold label
(``old_label``) and its text (``example``). The release's own ``entropy`` field is in bits and is not read:
loradyn derives every annotation statistic from the vote counts (see `loradyn.data.annotations`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from loradyn.data import sources
from loradyn.data.examples import ALPHA_NLI, NLI, Examples, Task
from loradyn.data.fields import check_unique_ids, check_votes, get_field, label_index, vote_count
from loradyn.io import read_jsonl


@dataclass(frozen=True)
class ChaosPart:
    """One part of ChaosNLI: its release file and how its labels are spelled there."""

    name: str
    filename: str
    task: Task
    label_keys: tuple[str, ...]  # label_counter keys in the task's class order


PARTS = {
    "snli": ChaosPart("chaosnli-snli", "chaosNLI_snli.jsonl", NLI, ("e", "n", "c")),
    "mnli": ChaosPart("chaosnli-mnli", "chaosNLI_mnli_m.jsonl", NLI, ("e", "n", "c")),
    "alphanli": ChaosPart("chaosnli-alphanli", "chaosNLI_alphanli.jsonl", ALPHA_NLI, ("1", "2")),
}


def read_chaosnli(path: str | os.PathLike[str], part: str) -> Examples:
    """Read one ChaosNLI release file (``part`` is ``"snli"``, ``"mnli"`` or ``"alphanli"``).

    The ``label`` column is the majority of the 100 votes, ties broken in class order (entailment, neutral,
    contradiction; for alphaNLI hyp1 before hyp2) as in the first study; ``gold_label`` is ``old_label``.

    Raises
    ------
    DataError
        Naming file, line and field, for malformed JSON, a missing field, an unknown label, vote counts that
        sum to zero, a duplicate ``uid`` or an empty file.
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {sorted(PARTS)}, got {part!r}")
    spec, path = PARTS[part], Path(path)
    aliases = {key: k for k, key in enumerate(spec.label_keys)}
    rows, lines = [], []
    for line, record in read_jsonl(path):
        where = (path, line)
        uid = get_field(record, "uid", str, where)
        example = get_field(record, "example", dict, where)
        counter = get_field(record, "label_counter", dict, where)
        votes = [0] * len(spec.label_keys)
        for key, count in counter.items():
            votes[label_index(key, spec.task.label_names, aliases, "label_counter", where)] += vote_count(
                count, "label_counter", where
            )
        check_votes(votes, "label_counter", where)
        gold = label_index(
            get_field(record, "old_label", (str, int), where), spec.task.label_names, aliases, "old_label", where
        )
        row = {"example_id": uid}
        for text_field in spec.task.text_fields:
            row[text_field] = get_field(example, text_field, str, where)
        row["gold_label"] = gold
        row.update(zip(spec.task.vote_columns(), votes, strict=True))
        rows.append(row)
        lines.append(line)
    check_unique_ids([row["example_id"] for row in rows], lines, path, "uid")
    return Examples.from_votes(spec.name, spec.task, pd.DataFrame(rows))


def load_chaosnli(part: str, *, data_dir: str | os.PathLike[str] | None = None) -> Examples:
    """Load a ChaosNLI part from ``data_dir/chaosnli/`` (or ``$LORADYN_DATA_DIR``), else from the official
    release, downloaded and verified once (`sources.download_chaosnli`)."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {sorted(PARTS)}, got {part!r}")
    local = sources.resolve_data_dir(data_dir)
    filename = PARTS[part].filename
    path = sources.local_file(local, "chaosnli", filename) if local else sources.download_chaosnli() / filename
    return read_chaosnli(path, part)

"""Reading a sweep file: its YAML, and the line of every key and item, so that errors can name the line.

Light on purpose (no torch): the command line checks a sweep file with it before importing the training stack.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from loradyn.errors import DataError
from loradyn.train.config import read_yaml as read_config_yaml


def read_yaml(path: str | os.PathLike[str]) -> tuple[Any, dict[tuple, int]]:
    """The file's content, and the 1-based line of every mapping key and sequence item by its path from the top
    (``("grid", 0, "adapter", 2)``).

    Raises
    ------
    DataError
        On a missing file, malformed YAML or a key given twice in one mapping, with the line.
    """
    path = Path(path)
    if not path.exists():
        raise DataError("sweep file not found", path=path, fix="check the path")
    content = read_config_yaml(path)  # located errors, and a key given twice refused
    if content is None:
        raise DataError("the sweep file is empty", path=path, fix="write at least base: {...} or seeds: [...]")
    node = yaml.compose(path.read_text(encoding="utf-8"))
    return content, _line_index(node) if node is not None else {}


def _line_index(node: yaml.Node, at: tuple = ()) -> dict[tuple, int]:
    lines = {at: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines.update(_line_index(value, (*at, key.value)))
            lines[(*at, key.value)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.update(_line_index(item, (*at, i)))
    return lines

"""Reading JSON lines with located errors, and atomic writes (temporary file, then rename)."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from loradyn.errors import DataError

_UMASK = os.umask(0)
os.umask(_UMASK)


def read_jsonl(path: str | os.PathLike[str]) -> list[tuple[int, dict[str, Any]]]:
    """Read a JSON-lines file into ``(line_number, record)`` pairs, skipping blank lines.

    Raises
    ------
    DataError
        On a missing or empty file, a line that is not JSON, or a line that is not a JSON object.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path=path, fix="check the path, or the data directory layout")
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as err:
                raise DataError(
                    f"malformed JSON ({err.msg}, column {err.colno})",
                    path=path,
                    line=number,
                    fix="make every non-blank line one complete JSON object",
                ) from None
            if not isinstance(record, dict):
                raise DataError(
                    f"expected a JSON object, got {type(record).__name__}",
                    path=path,
                    line=number,
                    fix="make every non-blank line one JSON object",
                )
            records.append((number, record))
    if not records:
        raise DataError("file is empty", path=path, fix="point at a file with at least one record")
    return records


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes the file private; the result gets the usual mode
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_atomic(target: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` and move the result onto ``target`` atomically; return ``target``."""
    with atomic_path(target) as tmp:
        write(tmp)
    return Path(target)


def jsonable(obj: Any) -> Any:
    """``obj`` with NaN and infinities as None (strict JSON has neither) and NumPy scalars and arrays as Python
    values, recursively through dicts, lists and tuples."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps(obj: Any) -> str:
    """Strict, indented JSON of ``obj`` (see `jsonable`)."""
    return json.dumps(jsonable(obj), indent=2, allow_nan=False)


def write_json(target: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as strict, indented JSON, atomically."""
    return write_atomic(target, lambda tmp: tmp.write_text(dumps(obj) + "\n", encoding="utf-8"))


def write_jsonl(target: str | os.PathLike[str], records: list[dict[str, Any]]) -> Path:
    """Write one JSON object per line, atomically."""
    text = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    return write_atomic(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))

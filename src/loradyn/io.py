"""Reading text, JSON, JSON lines and Parquet with located errors; checking outputs before anything is written; atomic
writes (temporary file or folder, then rename)."""

from __future__ import annotations

import glob
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from loradyn.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

_UMASK = os.umask(0)
os.umask(_UMASK)


def read_text(path: str | os.PathLike[str], *, what: str = "file", fix: str = "check the path") -> str:
    """A UTF-8 text file's content (a byte-order mark is dropped), with located errors.

    Raises
    ------
    DataError
        On a missing file, a folder, a file that cannot be read (permissions), or bytes that are not UTF-8 (naming
        the line and column of the first).
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"is a folder, not a {what}", path=path, fix=fix)
    if not path.exists():
        raise DataError(f"{what} not found", path=path, fix=fix)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DataError(f"cannot read it ({err.strerror or err})", path=path, fix="check its permissions") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        start = err.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1) + 1
        raise DataError(
            f"not UTF-8 text (byte 0x{data[start]:02x} at column {column}; a binary file, or another encoding?)",
            path=path,
            line=line,
            fix="save the file as UTF-8 text",
        ) from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different (plain JSON keeps the last of a repeated key silently)."""
    record: dict[str, Any] = {}
    for key, value in pairs:
        if key in record:
            raise ValueError(f"the key {key!r} is given twice in one object")
        record[key] = value
    return record


def _parse_json(text: str, path: Path, line: int | None, fix: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as err:
        raise DataError(
            f"malformed JSON ({err.msg}, column {err.colno})",
            path=path,
            line=err.lineno if line is None else line,
            fix=fix,
        ) from None
    except ValueError as err:  # a repeated key
        raise DataError(str(err), path=path, line=line, fix="keep one of them") from None


def read_json(path: str | os.PathLike[str], *, what: str = "JSON file", fix: str = "check the path") -> Any:
    """A JSON file, with located errors (see `read_text`; malformed JSON and a key given twice name the line)."""
    path = Path(path)
    return _parse_json(read_text(path, what=what, fix=fix), path, None, fix=f"write valid JSON, or {fix}")


def read_jsonl(path: str | os.PathLike[str]) -> list[tuple[int, dict[str, Any]]]:
    """Read a JSON-lines file into ``(line_number, record)`` pairs, skipping blank lines.

    Raises
    ------
    DataError
        On a missing, unreadable or empty file, bytes that are not UTF-8, a line that is not JSON, a line that is
        not a JSON object, or a key given twice in one object.
    """
    path = Path(path)
    text = read_text(path, fix="check the path, or the data directory layout")
    records = []
    for number, line in enumerate(text.split("\n"), start=1):  # lines as the file has them (not U+2028)
        if not line.strip():
            continue
        record = _parse_json(line, path, number, fix="make every non-blank line one complete JSON object")
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


def read_parquet(
    path: str | os.PathLike[str], *, fix: str = "point at a finished run directory", **options: Any
) -> pd.DataFrame:
    """A Parquet file as a DataFrame (``options`` go to `pyarrow.parquet.read_table`: ``columns``, ``filters``),
    with located errors for a missing file and one that is not Parquet or cannot be read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise DataError("is a folder, not a file" if path.exists() else "file not found", path=path, fix=fix)
    try:
        return pq.read_table(path, **options).to_pandas()
    except PermissionError:
        raise DataError("cannot read it (permission denied)", path=path, fix="check its permissions") from None
    except (pa.ArrowException, OSError) as err:
        raise DataError(
            f"not a readable Parquet file ({str(err).splitlines()[0]})",
            path=path,
            fix="the file is damaged or not Parquet: write it again with the command that made it",
        ) from None


def check_writable(targets: Iterable[str | os.PathLike[str]]) -> None:
    """Refuse, before anything is written, output files that cannot be written: a folder where the file goes, a
    file where a folder goes, or a folder without write permission.

    Raises
    ------
    DataError
        Naming the path in the way and the fix.
    """
    for target in map(Path, targets):
        if target.is_dir():
            raise DataError(
                "is a folder where an output file goes",
                path=target,
                fix="move the folder away, or choose another --out",
            )
        folder = target.parent
        while not folder.exists() and folder != folder.parent:
            if folder.is_symlink():
                raise DataError(
                    "is a symbolic link that leads nowhere (a loop, or a missing target)",
                    path=folder,
                    fix="point the link at a folder, or choose another --out",
                )
            folder = folder.parent
        if not folder.is_dir():
            raise DataError("is a file where an output folder goes", path=folder, fix="choose another --out")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise DataError("is not writable", path=folder, fix="choose another --out, or check its permissions")


def write_files(writers: Mapping[str | os.PathLike[str], Callable[[Path], None]]) -> list[Path]:
    """Write several files as one: ``write(tmp)`` for each target in turn, into a temporary file beside it, and only
    when every one is written, rename them onto their targets in the order given (a manifest last marks a
    complete folder). If any write fails (a full disk, a bug), no target is touched, the temporary files are
    removed, and so are the folders made for them. Returns the targets."""
    targets = {Path(target): write for target, write in writers.items()}
    made = {p for t in targets for p in (t.parent, *t.parent.parents) if not p.exists()}
    temporaries: list[Path] = []
    try:
        for target, write in targets.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            os.close(fd)
            temporaries.append(Path(tmp))
            write(Path(tmp))
        for target, tmp in zip(targets, temporaries, strict=True):
            os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes the file private; the result gets the usual mode
            os.replace(tmp, target)
    except BaseException:
        for tmp in temporaries:
            tmp.unlink(missing_ok=True)
        for folder in sorted(made, key=lambda p: len(p.parts), reverse=True):
            with suppress(OSError):
                folder.rmdir()  # only if empty: a folder another file went into stays
        raise
    return list(targets)


def write_atomic(target: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` and move the result onto ``target`` atomically; return ``target``."""
    return write_files({target: write})[0]


def write_folder(target: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_folder)`` on an empty folder beside ``target`` of this process's own, then rename it onto
    ``target``. Processes that build the same folder at once never share a temporary one; when another one's
    rename came first, its folder is kept and this one's removed. A failed ``write`` leaves ``target`` as it was;
    the temporary folder of a process killed while it wrote (its id in the name) is removed by the next call."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name}."
    for stale in target.parent.glob(f"{glob.escape(prefix)}*.tmp"):  # left by a process killed while it wrote
        pid = stale.name[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}.", suffix=".tmp", dir=target.parent))
    try:
        write(tmp)
        os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp makes the folder private; the result gets the usual mode
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def process_alive(pid: Any) -> bool:
    """Whether a process of id ``pid`` runs on this machine (someone else's included)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process of that id: alive
        return True
    return True


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


def json_writer(obj: Any) -> Callable[[Path], None]:
    """A writer (for `write_files`) of ``obj`` as strict, indented JSON."""
    text = dumps(obj) + "\n"
    return lambda tmp: tmp.write_text(text, encoding="utf-8")


def jsonl_writer(records: list[dict[str, Any]]) -> Callable[[Path], None]:
    """A writer (for `write_files`) of one JSON object per line."""
    text = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    return lambda tmp: tmp.write_text(text, encoding="utf-8")


def write_json(target: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as strict, indented JSON, atomically."""
    return write_atomic(target, json_writer(obj))


def write_jsonl(target: str | os.PathLike[str], records: list[dict[str, Any]]) -> Path:
    """Write one JSON object per line, atomically."""
    return write_atomic(target, jsonl_writer(records))

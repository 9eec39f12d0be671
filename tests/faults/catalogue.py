"""The fault and bad-input catalogue's machinery. A `Case` is data (the input files, the command line, the exit
status and the words of the message; the cases are in ``cases_*.py``), run through the real command line by
`run_case`, which records what the command said and what it wrote.

A case passes (`Outcome.problems` is empty) when the command exits with the expected status (2 for bad input and
unusable files, 1 only for a genuinely unexpected error, 130 for an interrupt), prints exactly one line on stderr
with the expected words (the path, line and field where they apply) and a fix, shows no Python traceback, and
leaves its folder exactly as it found it: no file or folder written, no input changed or removed.

Faults are injected deterministically, as the kill points are (`tests/faults/test_kill_points.py`): a full disk is
an ``ENOSPC`` raised when the n-th temporary output file is created, an interrupt a ``KeyboardInterrupt`` at the
same place; the network is unreachable (``urlopen`` fails) for every case; file permissions are real ``chmod``
modes (emulated at Python's ``open``, ``os.open``, ``os.mkdir`` and ``os.access`` when the tests run as root, whom
the kernel lets read and write anything).
"""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import re
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from typer.testing import CliRunner

from loradyn.cli import app
from loradyn.synthetic import write_synthetic_run

Maker = Callable[[Path, Path], None]  # (case folder, real data folder) -> None
Fault = Callable[[Path], Any]  # case folder -> a context manager active while the command runs


@dataclass(frozen=True)
class Case:
    """One bad input or fault.

    ``args`` and ``words`` may name ``{tmp}`` (the case's own folder, where ``files`` and ``make`` put the input),
    ``{data}`` (the real data folder) and ``{cache}`` (the cache folder, outside ``{tmp}``)."""

    group: str
    name: str
    what: str
    args: tuple[str, ...]
    words: tuple[str, ...]
    files: dict[str, str | bytes] = field(default_factory=dict)
    make: tuple[Maker, ...] = ()
    faults: tuple[Fault, ...] = ()
    exit: int = 2
    usage: bool = False  # an error of the command-line parser (click): its usage lines, then the error

    @property
    def id(self) -> str:
        return f"{self.group.replace(' ', '-')}:{self.name}"


@dataclass
class Outcome:
    """What a case's command did: its exit status, its output, and the entries of its folder it wrote (new) or
    changed (bytes differ, or gone)."""

    case: Case
    exit: int
    stderr: str
    stdout: str
    exception: BaseException | None
    written: list[str]
    changed: list[str]
    seconds: float
    where: dict[str, str]

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    @property
    def message(self) -> str:
        return " ".join(self.stderr.split())

    def problems(self) -> list[str]:
        """What is wrong with this outcome; empty when the case passes."""
        found = []
        if self.exit != self.case.exit:
            found.append(f"exit status {self.exit}, expected {self.case.exit}")
        if self.exception is not None and not isinstance(self.exception, SystemExit):
            found.append(f"an exception escaped: {type(self.exception).__name__}: {self.exception}")
        if "Traceback (most recent call last)" in self.stderr + self.stdout:
            found.append("a Python traceback was printed")
        if len(self.lines) != 1 and not self.case.usage:
            found.append(f"{len(self.lines)} lines on stderr, expected 1: {self.lines}")
        missing = [w for w in self.case.words if fill(w, self.where) not in self.message]
        if missing:
            found.append(f"the message lacks {missing}: {self.message!r}")
        if self.case.exit == 2 and not self.case.usage and "Fix: " not in self.message:
            found.append(f"the message gives no fix: {self.message!r}")
        if self.case.exit == 1 and "traceback is in" not in self.message:
            found.append(f"an unexpected error does not say where its traceback is: {self.message!r}")
        if self.written:
            found.append(f"written: {self.written}")
        if self.changed:
            found.append(f"input changed or removed: {self.changed}")
        return found

    def record(self) -> dict[str, Any]:
        """What docs/reliability.md shows of this case (paths as <tmp>, <data> and <cache>)."""

        def plain(text: str) -> str:
            for key in ("cache", "tmp", "data"):
                text = text.replace(self.where[key], f"<{key}>")
            return text.replace(f"{REPO}/", "")

        return {
            "group": self.case.group,
            "name": self.case.name,
            "what": self.case.what,
            "command": "loradyn " + " ".join(_quote(plain(fill(a, self.where))) for a in self.case.args),
            "exit": self.exit,
            "message": plain(self.message),
            "one_line": len(self.lines) == 1 and "Traceback" not in self.stderr,
            "usage": self.case.usage,
            "has_fix": "Fix: " in self.message,
            "nothing_written": not self.written,
            "nothing_lost": not self.changed,
            "seconds": round(self.seconds, 3),
            "problems": [plain(p) for p in self.problems()],
        }


def _quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w./<>:=,+@%-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


def fill(text: str, where: dict[str, str]) -> str:
    """``text`` with ``{tmp}``, ``{data}`` and ``{cache}`` replaced (str.format would trip on YAML braces)."""
    for key, value in where.items():
        text = text.replace("{" + key + "}", value)
    return text


def snapshot(root: Path) -> dict[str, Any]:
    """Every entry under ``root``: folders, links and files with their bytes."""
    entries: dict[str, Any] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            key = str(path.relative_to(root))
            if path.is_symlink():
                entries[key] = ("link", os.readlink(path))
            elif path.is_dir():
                entries[key] = ("folder",)
            else:
                entries[key] = ("file", path.read_bytes())
    return entries


runner = CliRunner()


def run_case(case: Case, tmp_path: Path, data_dir: Path) -> Outcome:
    """Make the case's input under ``tmp_path/case``, run its command line, and record what happened."""
    import time

    root, cache = tmp_path / "case", tmp_path / "cache"
    root.mkdir()
    where = {"tmp": str(root), "data": str(data_dir), "cache": str(cache)}
    for name, content in case.files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    for make in case.make:
        make(root, data_dir)
    before = snapshot(root)
    started = time.perf_counter()
    with ExitStack() as stack:
        stack.enter_context(no_network())
        for fault in case.faults:
            stack.enter_context(fault(root))
        result = runner.invoke(
            app,
            [fill(a, where) for a in case.args],
            env={"LORADYN_CACHE_DIR": str(cache), "COLUMNS": "200"},
            prog_name="loradyn",
        )
    seconds = time.perf_counter() - started
    after = snapshot(root)
    return Outcome(
        case=case,
        exit=result.exit_code,
        stderr=result.stderr,
        stdout=result.stdout,
        exception=result.exception,
        written=sorted(set(after) - set(before)),
        changed=sorted(k for k in before if after.get(k) != before[k]),
        seconds=seconds,
        where=where,
    )


# ----------------------------------------------------------------------------------------------------- faults
@contextmanager
def no_network() -> Iterator[None]:
    """Nothing in the catalogue may reach the network: every URL is unreachable."""

    def unreachable(url: Any, *args: Any, **kwargs: Any) -> Any:
        raise urllib.error.URLError("the network is unreachable (catalogue)")

    real = urllib.request.urlopen
    urllib.request.urlopen = unreachable
    try:
        yield
    finally:
        urllib.request.urlopen = real


def at_nth_output(n: int, error: Callable[[Path], BaseException]) -> Fault:
    """Raise ``error(folder)`` when the command creates its ``n``-th temporary output file under the case folder
    (every loradyn output is written to a temporary file first): a full disk, an interrupt."""

    @contextmanager
    def fault(root: Path) -> Iterator[None]:
        real, seen = tempfile.mkstemp, {"n": 0}

        def mkstemp(*args: Any, dir: Any = None, **kwargs: Any) -> Any:
            if dir is not None and Path(dir).is_relative_to(root):
                seen["n"] += 1
                if seen["n"] == n:
                    raise error(Path(dir))
            return real(*args, dir=dir, **kwargs)

        tempfile.mkstemp = mkstemp
        try:
            yield
        finally:
            tempfile.mkstemp = real

    return fault


def disk_full(n: int) -> Fault:
    return at_nth_output(n, lambda folder: OSError(errno.ENOSPC, "No space left on device", str(folder)))


def interrupt(n: int) -> Fault:
    return at_nth_output(n, lambda folder: KeyboardInterrupt())


def chmod(name: str, mode: int) -> Fault:
    """``chmod mode`` on the case's ``name`` while the command runs (restored after, so that the folder can be
    compared and removed)."""

    @contextmanager
    def fault(root: Path) -> Iterator[None]:
        path = root / name
        old = path.stat().st_mode
        path.chmod(mode)
        try:
            with _root_obeys_modes(root):
                yield
        finally:
            path.chmod(old)

    return fault


@contextmanager
def _root_obeys_modes(root: Path) -> Iterator[None]:
    """As root, the kernel ignores file modes: check the owner's bits of paths under ``root`` as it would for their
    owner, at the calls loradyn reaches files through. A no-op for other users, for whom the modes are real."""
    if os.geteuid() != 0:
        yield
        return
    real_open, real_io_open, real_os_open, real_mkdir, real_access = (
        builtins.open,
        io.open,
        os.open,
        os.mkdir,
        os.access,
    )

    def denied(path: Any, bit: int, *, of_folder: bool = False) -> bool:
        if isinstance(path, int) or not isinstance(path, str | bytes | os.PathLike):
            return False
        p = Path(os.fsdecode(path)).absolute()
        if p != root and root not in p.parents:
            return False
        try:
            return not os.stat(p.parent if of_folder else p).st_mode & bit
        except OSError:
            return False

    def check(path: Any, bit: int, *, of_folder: bool = False) -> None:
        if denied(path, bit, of_folder=of_folder):
            raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(path))

    def check_mode(file: Any, mode: str) -> None:
        if any(c in mode for c in "wxa"):
            exists = not isinstance(file, int) and os.path.exists(file)
            check(file, 0o200, of_folder=not exists)
        if "r" in mode or "+" in mode:
            check(file, 0o400)

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        check_mode(file, mode)
        return real_open(file, mode, *args, **kwargs)

    def fake_io_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        check_mode(file, mode)
        return real_io_open(file, mode, *args, **kwargs)

    def fake_os_open(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        if flags & os.O_CREAT and not os.path.exists(path):
            check(path, 0o200, of_folder=True)
        else:
            check(path, 0o200 if flags & (os.O_WRONLY | os.O_RDWR) else 0o400)
        return real_os_open(path, flags, mode, **kwargs)

    def fake_mkdir(path: Any, mode: int = 0o777, **kwargs: Any) -> None:
        check(path, 0o200, of_folder=True)
        return real_mkdir(path, mode, **kwargs)

    def fake_access(path: Any, mode: int, **kwargs: Any) -> bool:
        if (mode & os.R_OK and denied(path, 0o400)) or (mode & os.W_OK and denied(path, 0o200)):
            return False
        return real_access(path, mode, **kwargs)

    builtins.open, io.open, os.open, os.mkdir, os.access = (
        fake_open,
        fake_io_open,
        fake_os_open,
        fake_mkdir,
        fake_access,
    )
    try:
        yield
    finally:
        builtins.open, io.open, os.open, os.mkdir, os.access = (
            real_open,
            real_io_open,
            real_os_open,
            real_mkdir,
            real_access,
        )


def planted_bug(module: str, attribute: str) -> Fault:
    """Replace ``module.attribute`` by a function that raises a RuntimeError: an error loradyn cannot foresee."""

    @contextmanager
    def fault(root: Path) -> Iterator[None]:
        import importlib

        target = importlib.import_module(module)
        real = getattr(target, attribute)

        def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("a planted bug")

        setattr(target, attribute, broken)
        try:
            yield
        finally:
            setattr(target, attribute, real)

    return fault


# ------------------------------------------------------------------------------------------------- input makers
def run(name: str, edit: Callable[[Path], None] | None = None, *, config: dict | None = None, **options: Any) -> Maker:
    """A synthetic run directory ``name`` (`loradyn.synthetic.write_synthetic_run`: 24 tracked items, 4 probes) of a
    LoRA run's configuration (with ``config``), then ``edit(run_dir)``."""

    def make(root: Path, data: Path) -> None:
        values = {"model": "minilm", "method": "lora", "rank": 4, "dataset": "chaosnli-snli", "noise_rate": 0.0}
        if options.get("noise_rate"):
            values |= {"noise_rate": options["noise_rate"], "noise_kind": "symmetric", "noise_seed": 0}
        path = write_synthetic_run(
            root / name, n_items=24, n_checkpoints=4, epochs=2, config=values | (config or {}), **options
        )
        if edit is not None:
            edit(path)

    return make


def noisy(name: str, rank: int = 4, edit: Callable[[Path], None] | None = None, **options: Any) -> Maker:
    """A synthetic run trained with 30% noise, recorded against both label sets, as `loradyn detect` reads."""
    return run(name, edit, noise_rate=0.3, config={"rank": rank}, **options)


def folder(name: str) -> Maker:
    """An empty folder ``name`` (where a file is expected, or to hold one)."""

    def make(root: Path, data: Path) -> None:
        (root / name).mkdir(parents=True, exist_ok=True)

    return make


def write(name: str, content: str | bytes) -> Callable[[Path], None]:
    """An edit: replace the run's file ``name``."""

    def edit(run_dir: Path) -> None:
        path = run_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)

    return edit


def remove(name: str) -> Callable[[Path], None]:
    return lambda run_dir: (run_dir / name).unlink()


def table(name: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    """An edit: rewrite the run's Parquet file ``name`` through ``change``."""

    def edit(run_dir: Path) -> None:
        change(pd.read_parquet(run_dir / name)).to_parquet(run_dir / name, index=False)

    return edit


def run_json(change: Callable[[dict], Any]) -> Callable[[Path], None]:
    def edit(run_dir: Path) -> None:
        path = run_dir / "run.json"
        path.write_text(json.dumps(change(json.loads(path.read_text()))))

    return edit


def train_json(name: str, status: str, **changes: Any) -> Maker:
    """A run directory ``name`` whose run.json is a `loradyn train` run of the catalogue's tiny smoke
    configuration (with ``changes``), in ``status``."""

    def make(root: Path, data: Path) -> None:
        from loradyn.train.config import load_config

        config = load_config(SMOKE, [*TINY, f"data_dir={data}"]).to_dict() | changes
        (root / name).mkdir(parents=True)
        (root / name / "run.json").write_text(json.dumps({"run_id": name, "status": status, "config": config}))

    return make


def chaos(record_line: str) -> dict[str, str]:
    """A data folder (``{tmp}/dd``) whose ChaosNLI-SNLI file holds a good item, then ``record_line``."""
    return {"dd/chaosnli/chaosNLI_snli.jsonl": json.dumps(CHAOS_ITEM) + "\n" + record_line + "\n"}


def chaos_with(**changes: Any) -> dict[str, str]:
    record = json.loads(json.dumps(CHAOS_ITEM)) | {"uid": "u2"}
    for key, value in changes.items():
        if value is DROP:
            record.pop(key)
        else:
            record[key] = value
    return chaos(json.dumps(record))


DROP = object()
CHAOS_ITEM = {
    "uid": "u1",
    "label_counter": {"e": 60, "n": 30, "c": 10},
    "example": {"uid": "u1", "premise": "A dog runs.", "hypothesis": "An animal moves."},
    "old_label": "e",
}
REPO = Path(__file__).resolve().parents[2]
SMOKE = str(REPO / "configs" / "smoke.yaml")
#: The smallest training configuration (`tests/test_train.py`'s small(), one epoch); a case that trains by mistake
#: costs seconds, not minutes.
TINY = ("n_bulk=16", "n_tracked=8", "n_validation=8", "epochs=1", "max_length=48")


# ------------------------------------------------------------------------------------------------ shared inputs
VOTES = ("--count-fields", "yes,no", "--id-field", "id")
LABELS = ("--labels-field", "ann")
CSV = "id,text,yes,no\na,hello,3,1\n"
USER = ("{tmp}/in/v.csv", *VOTES, "--out", "{tmp}/out")
USER_FILE = {"in/v.csv": CSV + "b,world,1,3\nc,again,2,5\n"}
REPORT_RUN = {"config": {"model": "roberta-base", "noise_scope": "all"}}

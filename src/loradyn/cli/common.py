"""What every command group shares: consoles, options, error reporting and the table/JSON switch."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, RenderableType
from rich.markup import escape

from loradyn.data.catalog import FileMapping
from loradyn.errors import DataError
from loradyn.io import dumps

console = Console()
errors = Console(stderr=True)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", envvar="LORADYN_DATA_DIR", help="Folder laid out like ../shared/data.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Jobs = Annotated[
    int | None, typer.Option(help="Runs at a time. local: one per GPU, else one per CPU core; ray, slurm: no limit.")
]
Executor = Annotated[str, typer.Option(help="Where runs train: local, ray, slurm.")]
Slurm = Annotated[list[str] | None, typer.Option("--slurm", help="A submitit parameter: --slurm timeout_min=600.")]


def slurm_parameters(pairs: list[str] | None) -> dict[str, Any]:
    """``--slurm key=value`` options as submitit parameters, each value parsed as YAML (bounded, as files are)."""
    from loradyn.train.config import set_values

    return set_values(pairs or [], option="--slurm", example="timeout_min=600")


TextFields = Annotated[str, typer.Option(help="User file: comma-separated text fields.")]
CountFields = Annotated[str | None, typer.Option(help="User file: comma-separated per-class count columns.")]
LabelsField = Annotated[str | None, typer.Option(help="User file: the field listing each annotator's label.")]
LabelNames = Annotated[str | None, typer.Option(help="User file: comma-separated class names, in index order.")]
IdField = Annotated[str | None, typer.Option(help="User file: the field with a unique item id.")]
GoldField = Annotated[str | None, typer.Option(help="User file: the field with a reference label.")]


def split_list(value: str | None, option: str | None = None) -> tuple[str, ...] | None:
    """The names in a comma-separated option (None if not given). With ``option``, a value that names nothing
    (``--targets ,``) or names something twice is refused, naming the option."""
    if value is None:
        return None
    parts = tuple(part.strip() for part in value.split(",") if part.strip())
    if option is not None and (not parts or len(set(parts)) < len(parts)):
        raise DataError(
            f"{'lists nothing' if not parts else 'names something twice'}: {value!r}",
            field=option,
            fix=f"give {option} one or more different comma-separated names, or leave it out",
        )
    return parts


def file_mapping(text_fields, count_fields, labels_field, label_names, id_field, gold_field) -> FileMapping:
    return FileMapping(
        text_fields=split_list(text_fields),
        count_fields=split_list(count_fields),
        labels_field=labels_field,
        label_names=split_list(label_names),
        id_field=id_field,
        gold_field=gold_field,
    )


def reports_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """One readable line on stderr instead of a traceback: bad input (a `DataError`, raised where the input is
    checked) and unusable files exit with status 2; anything else is unexpected, a bug: it exits with 1 and says where
    its full traceback was written."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except typer.Exit:
            raise
        except DataError as err:  # bad input, said as such where it is found; any other error is a bug
            fail(str(err))
        except OSError as err:
            where = f"{err.filename}: " if err.filename else ""
            fail(f"{where}{err.strerror or err}. Fix: check the path, its permissions and the free disk space.")
        except KeyboardInterrupt:
            errors.print("interrupted", highlight=False)
            raise typer.Exit(130) from None
        except Exception as err:
            log = _traceback_file()
            fail(f"unexpected {type(err).__name__}: {err}. The full traceback is in {log}; please report it.", 1)

    return wrapper


def fail(message: str, status: int = 2) -> None:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(status) from None


def _traceback_file() -> Path:
    """Write the current exception's traceback to a file (under ``$LORADYN_CACHE_DIR/errors`` or the temporary
    folder) and return its path."""
    import os
    import tempfile
    import time
    import traceback

    folder = Path(os.environ.get("LORADYN_CACHE_DIR") or tempfile.gettempdir()) / "loradyn-errors"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
        path.write_text(traceback.format_exc(), encoding="utf-8")
    except OSError:
        path = Path("(unwritable)")
    return path


def emit(
    payload: dict[str, Any],
    as_json: bool,
    render: Callable[[dict[str, Any]], RenderableType],
    written: Iterable[str] = (),
) -> None:
    """Print ``payload`` as JSON, or as its table and then the files the command wrote (``written``), one per line."""
    if as_json:
        typer.echo(dumps(payload))
        return
    console.print(render(payload))
    for path in written:  # never wrapped: a path copied from a narrow terminal or a log is whole
        console.print(f"written: {path}", soft_wrap=True, highlight=False, markup=False)


def numbers(value: str, name: str, kind: type = int, *, minimum: float = 1, below: float | None = None) -> list:
    """Parse a comma-separated option of numbers (``--ranks 1,2,4``), each finite, at least ``minimum`` and, if
    given, below ``below``."""
    bounds = f"of at least {minimum:g}" + (f" and below {below:g}" if below is not None else "")
    fix = f"give {name} comma-separated {kind.__name__}s {bounds}"
    try:
        parsed = [kind(part) for part in split_list(value) or ()]
    except ValueError:
        raise DataError(f"not comma-separated {kind.__name__}s: {value!r}", field=name, fix=fix) from None
    if (
        not parsed
        or not all(math.isfinite(v) for v in parsed)
        or min(parsed) < minimum
        or (below is not None and max(parsed) >= below)
    ):
        raise DataError(f"needs one or more values {bounds}, got {value!r}", field=name, fix=fix)
    return parsed


def at_least(minimum: int, **values: int) -> None:
    """Refuse options below ``minimum`` (``--d 0``), naming the option."""
    for name, value in values.items():
        option = f"--{name.replace('_', '-')}"
        if value < minimum:
            what = "positive" if minimum == 1 else f"at least {minimum}"
            raise DataError(f"must be {what}, got {value}", field=option, fix=f"pass {option} {minimum} or more")


#: The most bootstrap resamples an analysis takes: ten times the study's 10,000. The resamples are held at once,
#: about 12 bytes per resample and item (1.5 GB for 1,211 items at the bound).
MAX_RESAMPLES = 100_000


def resamples(n_resamples: int | None) -> None:
    """Refuse a resample count below 1 or above `MAX_RESAMPLES` before anything is read."""
    if n_resamples is None:
        return
    at_least(1, n_resamples=n_resamples)
    if n_resamples > MAX_RESAMPLES:
        raise DataError(
            f"must be at most {MAX_RESAMPLES:,}, got {n_resamples:,}: the resamples are held in memory at once "
            "(about 12 bytes per resample and item)",
            field="--n-resamples",
            fix="pass --n-resamples 10000 (the study's) or fewer",
        )


def progress_line(text: str) -> None:
    """A line of progress on stderr, so long computations are not silent and --json output stays clean."""
    errors.print(text, highlight=False)


def counted(total: int, describe: Callable[[dict], str]) -> Callable[[dict], None]:
    """A callback for each finished piece of a long grid: prints ``i/total: <describe(row)>`` on stderr."""
    done = 0

    def report(row: dict) -> None:
        nonlocal done
        done += 1
        progress_line(f"{done}/{total}: {describe(row)}")

    return report

"""Where a result came from: the command, the machine, the date and how long it took."""

from __future__ import annotations

import os
import platform
import shlex
import sys
import time


def command_line(argv: list[str] | None = None) -> str:
    """The command as typed: ``loradyn`` and its arguments, quoted for a shell."""
    args = sys.argv[1:] if argv is None else argv
    return "loradyn " + " ".join(shlex.quote(a) for a in args)


def machine() -> str:
    """One line: CPU cores, processor, GPU if any, Python and torch versions."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    processor = platform.processor() or platform.machine()
    return (
        f"{os.cpu_count()} CPU cores ({processor}), {gpu}, Python {platform.python_version()}, "
        f"torch {torch.__version__}"
    )


def made_by(command: str, seconds: float) -> str:
    """The provenance sentence of a report."""
    return f"Made by `{command}` on {time.strftime('%Y-%m-%d')}, {machine()}, in {duration(seconds)} of wall time."


def duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"

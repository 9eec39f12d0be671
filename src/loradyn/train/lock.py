"""One writer per run directory: a lock file naming the writing process, taken over when that process is gone."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from loradyn.errors import DataError
from loradyn.io import process_alive


class RunLock:
    """One writer per run directory: ``run.lock`` holds the writer's host and pid. A lock whose process is gone
    (a killed run) is stale and taken over; a live one stops the second writer at once, naming the first."""

    def __init__(self, run_dir: Path, *, active: bool = True) -> None:
        self.path, self.active = Path(run_dir) / "run.lock", active

    def __enter__(self) -> RunLock:
        if not self.active:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = {"host": socket.gethostname(), "pid": os.getpid()}
        for _ in range(2):
            try:
                with open(self.path, "x", encoding="utf-8") as handle:
                    json.dump(me, handle)
                return self
            except FileExistsError:
                holder = self._holder()
                if holder and holder.get("host") == me["host"] and process_alive(holder.get("pid")):
                    raise DataError(
                        f"another loradyn process (pid {holder['pid']}) is writing this run",
                        path=self.dir,
                        fix="wait for it to finish, or stop it; one run directory takes one writer",
                    ) from None
                if holder and holder.get("host") != me["host"]:
                    raise DataError(
                        f"locked by a loradyn process on {holder.get('host')} (pid {holder.get('pid')})",
                        path=self.dir,
                        fix="wait for it, or delete run.lock if that process is gone",
                    ) from None
                self.path.unlink(missing_ok=True)  # stale: its writer was killed
        raise DataError("could not take the run lock", path=self.path, fix="delete run.lock and run again")

    @property
    def dir(self) -> Path:
        return self.path.parent

    def _holder(self) -> dict[str, Any] | None:
        try:
            holder = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return holder if isinstance(holder, dict) else None

    def __exit__(self, *exc: object) -> None:
        if self.active:
            self.path.unlink(missing_ok=True)

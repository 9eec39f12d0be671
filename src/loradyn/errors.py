"""The one error type for bad input: it names the file, line, field and the fix."""

from __future__ import annotations

from os import PathLike


class DataError(ValueError):
    """Bad input, located as precisely as the caller can locate it.

    ``str(err)`` reads ``path:line: field 'f': what is wrong. Fix: what to do.`` with the parts that are known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike[str] | None = None,
        line: int | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.message, self.path, self.line, self.field, self.fix = message, path, line, field, fix
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.path is not None:
            where = str(self.path) + (f":{self.line}" if self.line is not None else "") + ": "
        elif self.line is not None:
            where = f"line {self.line}: "
        what = f"field '{self.field}': " if self.field is not None else ""
        message = self.message if self.message.endswith((".", "?", "!")) else f"{self.message}."
        fix = f" Fix: {self.fix}" + ("" if self.fix.endswith((".", "?", "!")) else ".") if self.fix else ""
        return f"{where}{what}{message}{fix}"

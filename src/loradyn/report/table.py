"""One table of a report, written three ways: markdown, HTML and LaTeX (booktabs); and the cell formats they share.

A `Table` holds display strings (``rows``) beside the numbers they come from (``data``, for ``--json`` and tests).
Cells and captions use the papers' notation (Greek letters, plus-minus, a true minus sign); LaTeX gets it as math.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field

import pandas as pd

DASH = "—"  # a cell without a value


@dataclass
class Table:
    """``key`` names the table (an HTML anchor and a LaTeX label); ``notes`` are caption sentences; ``align`` the
    LaTeX column types (``l``, ``r`` or ``p{width}``, which HTML aligns left), default: the first column left, the
    others right."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)
    data: pd.DataFrame | None = None
    align: list[str] | None = None

    @property
    def column_types(self) -> list[str]:
        return self.align or ["l"] + ["r"] * (len(self.columns) - 1)

    def to_markdown(self) -> str:
        lines = [f"**{self.title}**", "", _md_row(self.columns), _md_row(["---"] * len(self.columns))]
        lines += [_md_row(row) for row in self.rows]
        if self.notes:
            lines += ["", " ".join(self.notes)]
        return "\n".join(lines)

    def to_html(self) -> str:
        sides = ["right" if t == "r" else "left" for t in self.column_types]
        head = "".join(f"<th class='{a}'>{inline_html(c)}</th>" for a, c in zip(sides, self.columns, strict=True))
        body = "".join(
            "<tr>"
            + "".join(f"<td class='{a}'>{inline_html(c)}</td>" for a, c in zip(sides, row, strict=True))
            + "</tr>"
            for row in self.rows
        )
        notes = f"<p class='note'>{inline_html(' '.join(self.notes))}</p>" if self.notes else ""
        return (
            f"<figure class='table' id='{self.key}'><figcaption>{inline_html(self.title)}</figcaption>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}</figure>"
        )

    def to_latex(self) -> str:
        spec = "".join(self.column_types)
        lines = [
            "\\begin{table}[t]",
            "\\centering",
            "\\small",
            f"\\caption{{{latex(self.title)}{'. ' + latex(' '.join(self.notes)) if self.notes else ''}}}",
            f"\\label{{tab:{self.key}}}",
            f"\\begin{{tabular}}{{{spec}}}",
            "\\toprule",
            " & ".join(latex(c) for c in self.columns) + " \\\\",
            "\\midrule",
            *(" & ".join(latex(c) for c in row) + " \\\\" for row in self.rows),
            "\\bottomrule",
            "\\end{tabular}",
            "\\end{table}",
        ]
        return "\n".join(lines)


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def inline_html(text: str) -> str:
    """Escape text for HTML, keeping markdown's inline ``code`` and **bold**."""
    escaped = html.escape(text, quote=True)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)


#: Notation and characters LaTeX needs spelled out (text-mode specials first, then the papers' symbols).
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"$<$",
    ">": r"$>$",
    "ρ": r"$\rho$",
    "τ": r"$\tau$",
    "Δ": r"$\Delta$",
    "χ": r"$\chi$",
    "²": r"$^2$",
    "±": r"$\pm$",
    "−": r"$-$",
    "–": "--",
    "—": "---",
    "≈": r"$\approx$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "×": r"$\times$",
    "·": r"$\cdot$",
    "→": r"$\rightarrow$",
    "…": r"\ldots{}",
}


def latex(text: str) -> str:
    """``text`` as LaTeX: specials escaped, the papers' symbols as math, inline ``code`` in typewriter."""
    parts = re.split(r"`([^`]+)`", text.replace("**", ""))
    out = []
    for i, part in enumerate(parts):
        escaped = "".join(_LATEX_SPECIAL.get(ch, ch) for ch in part)
        out.append(f"\\texttt{{{escaped}}}" if i % 2 else escaped)
    return "".join(out)


def missing(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def num(x: float | None, digits: int = 3) -> str:
    """A number with a true minus sign, or a dash when there is none; what rounds to zero has no sign."""
    return DASH if missing(x) else _unsigned_zero(f"{x:.{digits}f}").replace("-", "−")


def signed(x: float | None, digits: int = 3) -> str:
    """A number with its sign (a true minus sign), except zero."""
    return DASH if missing(x) else _unsigned_zero(f"{x:+.{digits}f}").replace("-", "−")


def _unsigned_zero(text: str) -> str:
    return text.lstrip("+-") if float(text) == 0 else text


def pm(mean: float | None, sd: float | None, digits: int = 3) -> str:
    """``mean ± sd``; the mean alone where there is no SD (one seed)."""
    return num(mean, digits) if missing(sd) else f"{num(mean, digits)} ± {num(sd, digits)}"


def interval(low: float | None, high: float | None, digits: int = 3) -> str:
    return DASH if missing(low) or missing(high) else f"[{num(low, digits)}, {num(high, digits)}]"


def pvalue(p: float | None) -> str:
    """A p-value for a table cell: ``0.012``, ``3.4e-05``, or ``< 1e-300`` below what a float tells apart (each
    with a true minus sign)."""
    if missing(p):
        return DASH
    return "< 1e−300" if p < 1e-300 else f"{p:.2g}".replace("e-", "e−")


def p_is(p: float | None) -> str:
    """A p-value in a sentence: ``p = 0.012``, or ``p < 1e-300``."""
    cell = pvalue(p)
    return f"p {cell}" if cell.startswith("<") else f"p = {cell}"


def share(x: float | None) -> str:
    return DASH if missing(x) else f"{x:.1%}"

"""A report as a list of blocks, written three ways: markdown (figures linked), a self-contained HTML page
(figures embedded as base64, the interactive data map inline, no script or style from the network) and the LaTeX
of its tables (booktabs)."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass

from loradyn.report.table import Table, inline_html


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True)
class Figure:
    """A PNG figure: written as ``<name>.png`` beside the markdown page, embedded in the HTML page."""

    name: str
    caption: str
    png: bytes


@dataclass(frozen=True)
class Interactive:
    """HTML shown only in the HTML page; the markdown page gets ``markdown`` in its place."""

    html: str
    markdown: str


Block = Heading | Paragraph | Bullets | Figure | Table | Interactive


def to_markdown(blocks: list[Block], *, figures: str) -> str:
    """The markdown page; figures are linked as ``figures/<name>.png``."""
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append("#" * block.level + " " + block.text)
        elif isinstance(block, Paragraph):
            parts.append(block.text)
        elif isinstance(block, Bullets):
            parts.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, Figure):
            parts.append(f"![{block.name}]({figures}/{block.name}.png)\n\n*{block.caption}*")
        elif isinstance(block, Table):
            parts.append(block.to_markdown())
        else:
            parts.append(block.markdown)
    return "\n\n".join(parts) + "\n"


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1200px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #ddd; vertical-align: top; }
.left { text-align: left; }
.right { text-align: right; }
thead th { border-bottom: 2px solid #444; }
figure { margin: 1.5em 0; }
figcaption { font-weight: 600; margin-bottom: 0.3em; }
figure.plot figcaption { font-weight: normal; font-style: italic; }
figure.plot img { max-width: 100%; }
.note { font-size: 0.85em; color: #555; max-width: 60em; }
code { background: #f3f3f3; padding: 0 0.2em; }
.datamap-wrap { position: relative; display: inline-block; }
#datamap text { font-size: 11px; fill: #333; }
#datamap .points circle { fill-opacity: 0.7; cursor: pointer; }
#datamap .points circle.hover { stroke: #000; stroke-width: 2; fill-opacity: 1; }
.tip { position: absolute; max-width: 26em; background: #fff; border: 1px solid #888; padding: 0.4em 0.6em;
       font-size: 0.8em; box-shadow: 0 2px 6px rgba(0, 0, 0, 0.2); pointer-events: none; }
"""


def to_html(blocks: list[Block], *, title: str) -> str:
    """The self-contained HTML page."""
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"<h{block.level}>{inline_html(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            parts.append(f"<p>{inline_html(block.text)}</p>")
        elif isinstance(block, Bullets):
            parts.append("<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in block.items) + "</ul>")
        elif isinstance(block, Figure):
            data = base64.b64encode(block.png).decode("ascii")
            caption = inline_html(block.caption)
            parts.append(
                f"<figure class='plot' id='fig-{block.name}'><img src='data:image/png;base64,{data}' "
                f"alt='{html.escape(block.caption, quote=True)}'><figcaption>{caption}</figcaption></figure>"
            )
        elif isinstance(block, Table):
            parts.append(block.to_html())
        else:
            parts.append(block.html)
    body = "\n".join(parts)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{STYLE}</style>
</head>
<body>
{body}
</body>
</html>
"""


def to_latex(blocks: list[Block], *, title: str, provenance: str) -> str:
    """The tables, each a booktabs ``table`` environment, to ``\\input`` into a document that loads booktabs."""
    tables = [b.to_latex() for b in blocks if isinstance(b, Table)]
    header = f"% {title}: the tables of report.md. Needs \\usepackage{{booktabs}}.\n% {provenance}\n"
    return header + "\n\n".join(tables) + "\n"

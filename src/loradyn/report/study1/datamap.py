"""The interactive data map of the HTML report: an inline SVG scatter (one circle per tracked example of one run,
confidence against variability, coloured by entropy category) and a few lines of inline JavaScript that show an
example's text, votes and entropy on hover. No library and no network; every text is escaped.

What a point shows comes from the run directory: ``metrics.parquet`` (map, entropy, category) and
``examples.parquet`` (its votes, as ``soft_<class>`` x ``n_annotations``, or ``votes_<class>``). A run directory
keeps no text of ChaosNLI items, so premise and hypothesis are read from the dataset when a local data folder is
known (``data_dir``, the run's ``data_dir``, or ``$LORADYN_DATA_DIR``); without one the map shows what there is.
"""

from __future__ import annotations

import html
import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from loradyn.data.catalog import CHAOSNLI_NAMES, load_examples
from loradyn.data.chaosnli import PARTS
from loradyn.data.sources import DATA_DIR_ENV
from loradyn.data.standard import STANDARD
from loradyn.io import jsonable
from loradyn.report.study1.figures import CATEGORY_COLORS
from loradyn.report.study1.runs import SweepRun
from loradyn.report.study1.sweep import Sweep

TEXT_FIELDS = ("premise", "hypothesis", "text", "obs1", "obs2", "hyp1", "hyp2")
WIDTH, HEIGHT = 720, 480
LEFT, RIGHT, TOP, BOTTOM = 64, 150, 16, 48  # plot margins in SVG units; the legend sits on the right


def map_run(sweep: Sweep, name: str | None = None) -> SweepRun | None:
    """The run whose data map the page shows: ``name``, else the first run (in reading order) with entropy."""
    if name is not None:
        return sweep.run(name)
    return next((r for c in sweep.conditions for r in c.runs if r.has_entropy), None)


def data_map_points(run: SweepRun) -> tuple[pd.DataFrame, str]:
    """One row per tracked example with a map position: ``example_id, confidence, variability, category,
    entropy, label, aulc``; and which map it is. The training pass's map (per epoch, Dataset Cartography's) when
    the run has one with some spread; else the probe map (every probe checkpoint)."""
    m = run.metrics
    training = m[["confidence", "variability"]].astype(float)
    usable = np.isfinite(training).all(axis=1)
    if usable.any() and np.ptp(training.loc[usable, "variability"]) > 0:
        source, columns = "training pass, per epoch (Dataset Cartography)", ("confidence", "variability")
    else:
        source = "probe checkpoints (the run's training-pass map is missing or has a single epoch)"
        columns = ("probe_confidence", "probe_variability")
    points = pd.DataFrame(
        {
            "example_id": m["example_id"],
            "confidence": m[columns[0]].astype(float),
            "variability": m[columns[1]].astype(float),
            "category": m.get("category"),
            "entropy": m["entropy"].astype(float) if "entropy" in m else np.nan,
            "label": _label_names(m.get("original_label"), run.config.get("dataset")),
            "aulc": m["aulc"].astype(float),
        }
    )
    return points[np.isfinite(points[["confidence", "variability"]]).all(axis=1)].reset_index(drop=True), source


def _label_names(labels: pd.Series | None, dataset: str | None) -> pd.Series | None:
    """Gold labels as ``index (name)`` where the dataset's class names are known."""
    names = PARTS.get(CHAOSNLI_NAMES.get(dataset, ""), None) or STANDARD.get(dataset or "")
    if labels is None or names is None:
        return labels
    classes = names.task.label_names
    return labels.map(lambda k: f"{k} ({classes[int(k)]})" if pd.notna(k) and 0 <= int(k) < len(classes) else k)


def item_details(run: SweepRun, ids: pd.Series, data_dir: str | os.PathLike[str] | None) -> tuple[pd.DataFrame, str]:
    """Text fields and votes of the examples ``ids`` (one row each, in order), and a sentence saying where they
    came from or what is missing."""
    examples = pd.read_parquet(run.path / "examples.parquet").drop_duplicates("example_id").set_index("example_id")
    details = pd.DataFrame(index=pd.Index(ids, name="example_id"))
    for field in TEXT_FIELDS:
        if field in examples:
            details[field] = examples[field].reindex(ids).to_numpy()
    soft = [c for c in examples if c.startswith("soft_")]
    votes = [c for c in examples if c.startswith("votes_")]
    if votes:
        for c in votes:
            details[c] = examples[c].reindex(ids).to_numpy()
    elif soft and "n_annotations" in examples:
        n = examples["n_annotations"].reindex(ids).to_numpy(dtype=float)
        for c in soft:
            details["votes_" + c[len("soft_") :]] = np.round(examples[c].reindex(ids).to_numpy(dtype=float) * n)
    if any(f in details for f in TEXT_FIELDS):
        return details.reset_index(), "Text and votes from the run's `examples.parquet`."
    dataset = run.config.get("dataset")
    folder = _data_folder(data_dir, run.config.get("data_dir"))
    if dataset in CHAOSNLI_NAMES and folder is not None:
        source = load_examples(dataset, data_dir=folder).frame.drop_duplicates("example_id").set_index("example_id")
        for field in TEXT_FIELDS:
            if field in source:
                details[field] = source[field].reindex(ids).to_numpy()
        if not any(c.startswith("votes_") for c in details):
            for c in (c for c in source if c.startswith("votes_")):
                details[c] = source[c].reindex(ids).to_numpy()
        return details.reset_index(), f"Text from the {dataset} release in `{folder}`; votes from the run."
    why = (
        "The run directory keeps no text (its `examples.parquet` has annotations, lengths and labels, not premise "
        f"and hypothesis), and no local data folder was given (`--data-dir` or `{DATA_DIR_ENV}`): points show their "
        "id, votes and entropy."
    )
    return details.reset_index(), why


def _data_folder(*candidates: str | os.PathLike[str] | None) -> Path | None:
    for value in (*candidates, os.environ.get(DATA_DIR_ENV)):
        if value and Path(value).expanduser().is_dir():
            return Path(value).expanduser()
    return None


def datamap_svg(points: pd.DataFrame, details: pd.DataFrame, *, title: str) -> str:
    """The HTML block: a caption, the SVG (one ``<circle>`` per row of ``points``), the items' details as JSON, a
    tooltip and the script that fills it."""
    x_max = max(float(points["variability"].max()) * 1.05, 1e-3) if len(points) else 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(v: float) -> float:
        return LEFT + v / x_max * plot_w

    def sy(v: float) -> float:
        return TOP + (1 - v) * plot_h

    shade = {category: f"k{k}" for k, category in enumerate(CATEGORY_COLORS)}  # a class per colour (a short tag)
    circles = [
        f"<circle cx='{sx(v):.1f}' cy='{sy(c):.1f}' r='3.5' class='{shade.get(cat, 'kx')}' data-i='{i}'></circle>"
        for i, (v, c, cat) in enumerate(
            zip(points["variability"], points["confidence"], points["category"], strict=True)
        )
    ]
    colours = "".join(
        f"#datamap .{shade[category]} {{ fill: {color}; }}" for category, color in CATEGORY_COLORS.items()
    )
    axes = [
        f"<line x1='{LEFT}' y1='{TOP + plot_h}' x2='{LEFT + plot_w}' y2='{TOP + plot_h}' stroke='#333'/>",
        f"<line x1='{LEFT}' y1='{TOP}' x2='{LEFT}' y2='{TOP + plot_h}' stroke='#333'/>",
    ]
    step = _tick_step(x_max)
    for k in range(int(x_max / step) + 1):
        axes.append(f"<text x='{sx(k * step):.1f}' y='{TOP + plot_h + 16}' text-anchor='middle'>{k * step:g}</text>")
    for k in range(6):
        axes.append(f"<text x='{LEFT - 6}' y='{sy(k / 5) + 4:.1f}' text-anchor='end'>{k / 5:.1f}</text>")
    axes.append(
        f"<text x='{LEFT + plot_w / 2:.0f}' y='{HEIGHT - 8}' text-anchor='middle'>variability (SD of p(gold))</text>"
    )
    axes.append(
        f"<text transform='translate(16 {TOP + plot_h / 2:.0f}) rotate(-90)' text-anchor='middle'>confidence "
        "(mean p(gold))</text>"
    )
    legend = [
        f"<rect x='{WIDTH - RIGHT + 15}' y='{TOP + 9 + 20 * k}' width='10' height='10' fill='{color}'></rect>"
        f"<text x='{WIDTH - RIGHT + 32}' y='{TOP + 18 + 20 * k}'>{html.escape(category)}</text>"
        for k, (category, color) in enumerate(CATEGORY_COLORS.items())
    ]
    merged = points.merge(details, on="example_id", how="left")
    votes = [c for c in merged if c.startswith("votes_")]
    text = [f for f in TEXT_FIELDS if f in merged and merged[f].map(lambda v: isinstance(v, str)).any()]
    # one array per field (the keys once, not once per point), numbers to the digits the tooltip shows: a page of
    # thousands of points stays small
    columns = {
        "id": merged["example_id"].tolist(),
        **{f: [v if isinstance(v, str) else None for v in merged[f]] for f in text},
        "votes": {c[len("votes_") :]: [int(v) if pd.notna(v) else None for v in merged[c]] for c in votes},
        "entropy": [_rounded(v) for v in merged["entropy"]],
        "category": merged["category"].tolist(),
        "label": merged["label"].tolist(),
        **{k: [_rounded(v) for v in merged[k]] for k in ("confidence", "variability", "aulc")},
    }
    records = jsonable(columns)
    payload = json.dumps(records, ensure_ascii=False, allow_nan=False)
    payload = payload.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return f"""<figure class="datamap">
<figcaption>{html.escape(title)}</figcaption>
<div class="datamap-wrap">
<svg id="datamap" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}"
 role="img" aria-label="data map">
<style>{colours} #datamap .kx {{ fill: #777777; }}</style>
<g class="axes">{"".join(axes)}</g>
<g class="legend">{"".join(legend)}</g>
<g class="points">{"".join(circles)}</g>
</svg>
<div id="datamap-tip" class="tip" hidden></div>
</div>
<script type="application/json" id="datamap-data">{payload}</script>
<script>{_SCRIPT}</script>
</figure>"""


def _rounded(x: float) -> float | None:
    """``x`` to the 3 decimals the tooltip shows; None where it is undefined."""
    return round(float(x), 3) if pd.notna(x) else None


def _tick_step(span: float) -> float:
    """A round tick spacing (1, 2 or 5 times a power of ten) giving about five ticks over ``span``."""
    raw = span / 5
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


#: Fills the tooltip with textContent only (no HTML is ever parsed from the data).
_SCRIPT = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("datamap-data").textContent);
  var svg = document.getElementById("datamap");
  var tip = document.getElementById("datamap-tip");
  function line(name, value) {
    var div = document.createElement("div");
    var b = document.createElement("b");
    b.textContent = name + ": ";
    div.appendChild(b);
    div.appendChild(document.createTextNode(value));
    tip.appendChild(div);
  }
  function fixed(x, digits) { return x === null ? "n/a" : x.toFixed(digits); }
  svg.addEventListener("mouseover", function (event) {
    var i = event.target.getAttribute("data-i");
    if (i === null) { return; }
    i = Number(i);
    tip.textContent = "";
    line("id", data.id[i]);
    ["premise", "hypothesis", "text", "obs1", "obs2", "hyp1", "hyp2"].forEach(function (f) {
      if (data[f] !== undefined && data[f][i] !== null) { line(f, data[f][i]); }
    });
    var votes = Object.keys(data.votes).filter(function (k) { return data.votes[k][i] !== null; })
      .map(function (k) { return k + " " + data.votes[k][i]; }).join(", ");
    if (votes) { line("votes", votes); }
    line("entropy", fixed(data.entropy[i], 3) + " nats (" + data.category[i] + ")");
    if (data.label[i] !== null) { line("gold label", String(data.label[i])); }
    line("confidence / variability", fixed(data.confidence[i], 3) + " / " + fixed(data.variability[i], 3));
    line("AULC", fixed(data.aulc[i], 3));
    tip.hidden = false;
    event.target.classList.add("hover");
  });
  svg.addEventListener("mousemove", function (event) {
    var box = svg.parentNode.getBoundingClientRect();
    tip.style.left = (event.clientX - box.left + 14) + "px";
    tip.style.top = (event.clientY - box.top + 14) + "px";
  });
  svg.addEventListener("mouseout", function (event) {
    if (event.target.getAttribute("data-i") === null) { return; }
    event.target.classList.remove("hover");
    tip.hidden = true;
  });
})();
"""

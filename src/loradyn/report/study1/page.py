"""``loradyn report``: a sweep's runs analysed as one family and reported beside the first study.

`write_report` analyses the complete runs of a sweep directory together (`loradyn.report.study1.sweep`), computes each
of the first study's tables that the sweep has the runs for, draws the figures, tests the paper's findings on the
numbers (`loradyn.report.study1.verdicts`), and writes ``report.md`` (figures in ``report-figures/``), a self-contained
``report.html`` (figures embedded, an interactive data map) and ``tables.tex`` (booktabs). Everything is
computed before anything is written; each file is written atomically.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from loradyn.errors import DataError
from loradyn.io import check_writable, write_files
from loradyn.report.paper import STUDY1
from loradyn.report.provenance import command_line, made_by
from loradyn.report.render import (
    Block,
    Bullets,
    Figure,
    Heading,
    Interactive,
    Paragraph,
    to_html,
    to_latex,
    to_markdown,
)
from loradyn.report.study1 import figures
from loradyn.report.study1.control_tables import authors_partial_table, controls_table, regression_table
from loradyn.report.study1.correlation_tables import (
    concordance_table,
    rank_tables,
    rebinning_table,
    table1,
    with_entropy,
)
from loradyn.report.study1.datamap import data_map_points, datamap_svg, item_details, map_run
from loradyn.report.study1.gradient_tables import gradient_cosine_table, gradient_norm_table
from loradyn.report.study1.noise_tables import group_label, noise_groups, noise_tables
from loradyn.report.study1.run_tables import accuracy_table, multiple_testing_table
from loradyn.report.study1.sweep import OWN_FOLDERS, Sweep, find_runs, load_sweep
from loradyn.report.study1.unlearning_tables import category_region_table, learned_then_lost_table, unlearning_table
from loradyn.report.study1.verdicts import findings
from loradyn.report.table import Table

FIGURES = OWN_FOLDERS[0]
OUTPUTS = ("report.md", "report.html", "tables.tex")


def write_report(
    sweep_dir: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    force: bool = False,
    n_resamples: int | None = None,
    seed: int | None = None,
    workers: int = 2,
    map_run_name: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    command: str | None = None,
) -> dict[str, Any]:
    """Analyse and report a sweep directory; returns what was written, what was skipped, the verdicts and every
    table's numbers.

    ``out`` (default: the sweep directory) receives the pages; ``analysis.json`` always goes to the sweep
    directory. ``force`` replaces analysis results made for other runs or options. ``n_resamples`` and ``seed``
    are the analysis options (default: those the runs were analysed with, else 10,000 and 0). ``map_run_name``
    picks the run of the data map; ``data_dir`` a local data folder to read its items' text from.
    """
    started = time.perf_counter()
    command = command or command_line()
    runs = {d.name for d in find_runs(sweep_dir)[0]}  # a missing sweep folder is named first
    target = Path(out) if out is not None else Path(sweep_dir)
    check_writable([*(target / name for name in OUTPUTS), target / FIGURES / "figure.png"])
    if map_run_name is not None and runs and map_run_name not in runs:
        raise DataError(
            f"no complete run named {map_run_name!r} in the sweep",
            path=sweep_dir,
            field="--map-run",
            fix="name one of its complete runs, or leave --map-run out",
        )
    sweep = load_sweep(sweep_dir, n_resamples=n_resamples, seed=seed, workers=workers, force=force)
    tables = _tables(sweep)
    verdicts = findings(sweep.conditions, tables, sweep.family)
    figs, datamap, map_name, map_note = _figures(sweep, tables, map_run_name, data_dir)
    provenance = made_by(command, time.perf_counter() - started)
    blocks = _page(sweep, tables, verdicts, figs, datamap, map_note, provenance)
    title = f"loradyn report: {sweep.path.resolve().name}"
    texts = {
        "report.md": to_markdown(blocks, figures=FIGURES),
        "report.html": to_html(blocks, title=title),
        "tables.tex": to_latex(blocks, title=title, provenance=provenance),
    }
    writers = {target / FIGURES / f"{fig.name}.png": lambda tmp, png=fig.png: tmp.write_bytes(png) for fig in figs}
    for name in OUTPUTS:
        writers[target / name] = lambda tmp, t=texts[name]: tmp.write_text(t, "utf-8")
    written = [str(p) for p in write_files(writers)]  # all or nothing
    for stale in (target / FIGURES).glob("*.png"):  # a figure of an earlier report that this sweep no longer has
        if str(stale) not in written:
            stale.unlink()
    return {
        "sweep": str(sweep.path),
        "runs": [r.name for r in sweep.runs],
        "planned": sweep.planned,
        "skipped": sweep.skipped,
        "options": sweep.options,
        "findings": verdicts.data.to_dict("records"),
        "tables": {key: _numbers(t) for key, t in tables.items()},
        "map_run": map_name,
        "map_note": map_note,
        "written": written,
    }


def _numbers(table: Table) -> dict[str, Any]:
    frame = table.data if table.data is not None else pd.DataFrame()
    return {"title": table.title, "rows": frame.to_dict("records"), **frame.attrs}


def _tables(sweep: Sweep) -> dict[str, Table]:
    """Every table the sweep has the runs for, by key."""
    conditions = sweep.conditions
    found: list[Table | None] = []
    if with_entropy(conditions):
        found.append(table1(conditions, n_resamples=sweep.options["n_resamples"], seed=sweep.options["seed"]))
    found += [unlearning_table(conditions), learned_then_lost_table(conditions)]
    found += list(rank_tables(conditions) or ())
    found += [controls_table(conditions), authors_partial_table(conditions), regression_table(conditions)]
    found += list(noise_tables(conditions) or ())
    found += [rebinning_table(conditions), concordance_table(conditions), category_region_table(conditions)]
    found += [gradient_cosine_table(conditions), gradient_norm_table(conditions)]
    found += [accuracy_table(conditions), multiple_testing_table(sweep.family)]
    return {t.key: t for t in found if t is not None}


def _figures(
    sweep: Sweep, tables: dict[str, Table], map_run_name: str | None, data_dir: str | os.PathLike[str] | None
) -> tuple[list[Figure], str, str | None, str]:
    """The figures the sweep has data for, the interactive map's HTML, its run and a note on its items' text."""
    entropic = with_entropy(sweep.conditions)
    out: list[Figure] = []
    if not entropic:
        return out, "", None, "no run has annotation entropy"
    curves = {r.name: figures.probe_curves(r) for c in entropic for r in c.runs}
    out.append(
        Figure(
            "entropy_histogram",
            "Annotation entropy of the tracked items (nats); dashed: the category thresholds 0.4 and 0.7; dotted: "
            "ln 3, the largest entropy of three classes.",
            figures.entropy_histogram(entropic),
        )
    )
    out.append(
        Figure(
            "loss_curves",
            "Mean probe loss per entropy category over training, each condition over its seeds; bands: 95% "
            "(mean ± 1.96 SE over item-seed curves).",
            figures.loss_curves(entropic, curves),
        )
    )
    out.append(
        Figure(
            "aulc_entropy",
            "AULC against annotation entropy (first seed of each condition); black: mean AULC per tenth of the "
            "entropy range.",
            figures.aulc_vs_entropy(entropic),
        )
    )
    if "rank" in tables:
        data = tables["rank"].data
        sds = {(c.base, c.rank): c.summary["spearman"]["aulc"]["sd"] or 0.0 for c in entropic if c.method == "lora"}
        out.append(
            Figure(
                "rho_rank", "ρ(AULC, entropy) against LoRA rank, mean ± SD over seeds.", figures.rho_by_rank(data, sds)
            )
        )
    run = map_run(sweep, map_run_name)
    datamap, note = "", "no run to map"
    if run is not None:
        points, source = data_map_points(run)
        details, note = item_details(run, points["example_id"], data_dir)
        title = f"Data map of run {run.name} ({len(points):,} tracked examples; {source})"
        out.append(Figure("datamap", title + ", coloured by entropy category.", figures.data_map(points, title)))
        datamap = datamap_svg(points, details, title=title + ". Hover over a point to read the example.")
    groups = noise_groups(sweep.conditions)
    if groups:
        labels = {key: group_label(sweep.conditions, key) for key in groups}
        out.append(
            Figure(
                "noise_curves",
                "Clean tracked items' mean probe loss (against their true labels) per noise rate, over seeds; "
                "dashed: those whose training label was flipped.",
                figures.noise_curves(groups, labels, curves),
            )
        )
    with_probs = [
        r
        for c in entropic
        for r in c.runs
        if r.metrics.get("final_confidence") is not None and r.metrics["final_confidence"].notna().any()
    ]
    if with_probs:
        out.append(
            Figure(
                "calibration",
                "Calibration by entropy category at the last probe (runs that kept class probabilities).",
                figures.calibration(with_probs),
            )
        )
    return out, datamap, None if run is None else run.name, note


def _section(blocks: list[Block], tables: dict[str, Table], key: str, missing: str) -> None:
    if key in tables:
        blocks.append(tables[key])
    else:
        blocks.append(Paragraph(f"Not tested here: {missing}."))


def _page(
    sweep: Sweep,
    tables: dict[str, Table],
    verdicts: Table,
    figs: list[Figure],
    datamap: str,
    map_note: str,
    provenance: str,
) -> list[Block]:
    fig = {f.name: f for f in figs}
    n_runs, n_conditions = len(sweep.runs), len(sweep.conditions)
    blocks: list[Block] = [
        Heading(1, f"Sweep report: {sweep.path.resolve().name}"),
        Paragraph(provenance),
        Paragraph(
            f"{n_runs} complete run{'s' if n_runs != 1 else ''} in {n_conditions} condition"
            f"{'s' if n_conditions != 1 else ''} (runs equal but for the seed), analysed together as one family by "
            f"`loradyn analyze` (bootstrap: {sweep.options['n_resamples']:,} resamples, seed "
            f"{sweep.options['seed']}): `metrics.parquet` and `stats.json` in each run, `analysis.json` in the sweep "
            "directory. The paper's numbers are its abstract's and its code's (`loradyn/report/paper.py`)."
        ),
    ]
    if sweep.planned and sweep.planned > n_runs:
        blocks.append(
            Paragraph(
                f"**{n_runs} of the {sweep.planned} planned runs** (the sweep's `sweep.json`) are complete: the sweep "
                "has not finished, and every table and verdict below is of the complete runs only."
            )
        )
    if sweep.skipped:
        blocks += [Paragraph("Skipped folders:"), Bullets(sweep.skipped)]
    blocks += [Heading(2, "Findings beside the paper"), verdicts]

    blocks.append(Heading(2, "Annotation entropy and the learning curve"))
    _section(blocks, tables, "table1", "no run has annotation entropy")
    blocks += [fig[n] for n in ("entropy_histogram", "loss_curves", "aulc_entropy") if n in fig]

    blocks.append(Heading(2, "Un-learning"))
    _section(blocks, tables, "unlearning", "no run has entropy categories")
    _section(blocks, tables, "learned_then_lost", "no run has entropy categories")

    blocks.append(Heading(2, "LoRA rank"))
    if "rank" in tables:
        blocks += [tables["rank"], tables["rank_monotonicity"]]
        blocks += [fig["rho_rank"]] if "rho_rank" in fig else []
    else:
        blocks.append(Paragraph("Not tested here: no LoRA conditions that differ only in rank."))

    blocks.append(Heading(2, "Controls"))
    _section(blocks, tables, "controls", "no run has entropy")
    _section(blocks, tables, "authors_partial", "no run has items whose loss falls below 0.693")
    _section(blocks, tables, "regression", "no run has a data map")

    blocks.append(Heading(2, "Noise injection"))
    if "noise_tests" in tables:
        blocks += [tables["noise_tests"], tables["noise_summary"]]
        blocks += [fig["noise_curves"]] if "noise_curves" in fig else []
    else:
        blocks.append(
            Paragraph(
                "Not tested here: no runs with `noise_scope: clean_tracked` beside a control run (noise rate 0) "
                f"of the same seed (the study's rates: {', '.join(f'{r:g}' for r in STUDY1['noise_rates'])})."
            )
        )

    blocks.append(Heading(2, "Re-binning and concordance"))
    _section(blocks, tables, "rebinning", "no run has entropy")
    _section(blocks, tables, "concordance", "fewer than 3 runs with entropy")

    blocks.append(Heading(2, "Data map"))
    if datamap:
        blocks.append(Paragraph(map_note))
        blocks.append(
            Interactive(
                datamap,
                f"![datamap]({FIGURES}/datamap.png)\n\n*{fig['datamap'].caption} `report.html` has this map "
                "interactive: hover over a point to read the example.*",
            )
        )
    else:
        blocks.append(Paragraph(f"Not drawn: {map_note}."))
    _section(blocks, tables, "category_region", "no run has a training-pass data map")

    if "calibration" in fig:
        blocks += [Heading(2, "Calibration"), fig["calibration"]]

    blocks.append(Heading(2, "Gradients"))
    _section(blocks, tables, "gradient_cosine", "no run measured it (`gradient_cosine: true`)")
    _section(blocks, tables, "gradient_norms", "no run measured them (`gradient_norms: true`)")

    blocks.append(Heading(2, "Runs and multiple testing"))
    blocks += [tables["accuracy"], tables["multiple_testing"]]

    blocks += [
        Heading(2, "How the numbers were computed"),
        Bullets(
            [
                "AULC: the mean probe loss over all checkpoints, step 0 included; Δloss: final minus step 0; "
                "entropy in nats; categories clean H < 0.4, ambiguous, contested H ≥ 0.7 (the study's).",
                "Seeds: mean ± SD with ddof = 1 (the study's Table 1); the study's condition CI is the mean of the "
                "per-seed bootstrap bounds; loradyn's resamples items once and averages ρ over seeds per resample.",
                "Departure: each run's bootstrap is seeded with the analysis seed, not the run's own seed as the "
                "study's RandomState(seed) was; the intervals agree to Monte-Carlo error.",
                "Un-learning: mean over seeds of each run's mean Δloss per category (the study's table); "
                "learned then lost: learned (argmax = label) at a trained checkpoint, not at the last.",
                "Controls: ρ within each gold label and the partial ρ controlling one length at a time are the "
                "study's; the strict joint control (lengths, gold label and majority confidence together) is "
                "loradyn's.",
                "Noise injection: one-sided paired Wilcoxon and paired Cohen's d (ddof 1) per seed, as the study's "
                "script 10 for seed 42; the per-rate summary with SD ddof 0 and the seed-level d as its script 19.",
                "Multiple testing: Holm and Benjamini–Hochberg over every test of every run in the sweep "
                "(the study corrected nothing).",
            ]
        ),
    ]
    return blocks

"""``loradyn report``: a sweep directory analysed as one family and reported beside the first study."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from loradyn.cli.common import AsJson, DataDir, at_least, emit, errors, reports_errors, resamples


def _findings_table(result: dict[str, Any]) -> Table:
    table = Table(title="The first study's findings, tested on this sweep", title_justify="left")
    for column in ("finding", "here", "verdict"):
        table.add_column(column, justify="left")
    styles = {"holds": "green", "does NOT hold": "bold red", "not tested here": "dim"}
    for row in result["findings"]:
        verdict = row["verdict"]
        table.add_row(escape(row["finding"]), escape(row["here"]), f"[{styles[verdict]}]{verdict}[/]")
    return table


@reports_errors
def report_command(
    sweep_dir: Annotated[Path, typer.Argument(help="A sweep directory: a folder of run directories.")],
    out: Annotated[
        Path | None, typer.Option(help="Folder for report.md, report.html and tables.tex (default: SWEEP_DIR).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace analysis results made for other runs or options.")] = False,
    n_resamples: Annotated[
        int | None, typer.Option(help="Bootstrap resamples (default: as the runs were analysed, else 10,000).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the bootstrap (default: as analysed, else 0).")] = None,
    workers: Annotated[int, typer.Option(help="Processes analysing runs.")] = 2,
    map_run: Annotated[
        str | None, typer.Option(help="The run shown in the data map (default: the first run with entropy).")
    ] = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Analyse a sweep's complete runs as one family and write report.md, a self-contained report.html (with an
    interactive data map) and tables.tex: the first study's tables and figures, its numbers beside ours, and a
    verdict on each of its findings."""
    from loradyn.report.study1.page import write_report

    at_least(1, workers=workers)
    resamples(n_resamples)
    result = write_report(
        sweep_dir,
        out=out,
        force=force,
        n_resamples=n_resamples,
        seed=seed,
        workers=workers,
        map_run_name=map_run,
        data_dir=data_dir,
    )
    for line in result["skipped"]:
        errors.print(f"[yellow]warning:[/] {escape(line)}", highlight=False, soft_wrap=True)
    emit(result, as_json, _findings_table, [p for p in result["written"] if not p.endswith(".png")])

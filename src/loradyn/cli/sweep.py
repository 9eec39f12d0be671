"""``loradyn sweep``: a sweep file expanded into runs, trained on this machine, on Ray or on Slurm."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from loradyn.cli.common import AsJson, DataDir, Executor, Jobs, Slurm, emit, reports_errors, slurm_parameters
from loradyn.errors import DataError
from loradyn.experiments.executors import check_executor
from loradyn.experiments.sweepfile import read_yaml
from loradyn.train.config import INERT


def _plan_table(plan: dict[str, Any]) -> Table:
    runs = plan["runs"]
    varying = [
        k for k in runs[0]["config"] if k not in ("seed", "data_dir") and len({repr(r["config"][k]) for r in runs}) > 1
    ]
    table = Table(title=f"sweep {plan['name']}: {len(runs)} runs", title_justify="left")
    for column in ("run", *varying, "seed", *(("state",) if "state" in runs[0] else ())):
        table.add_column(column, justify="right" if column == "seed" else "left")
    for run in runs:
        inert = INERT.get(run["config"].get("method"), ())  # e.g. a rank beside full fine-tuning: not read
        cells = ["-" if k in inert else str(run["config"][k]) for k in varying]
        table.add_row(run["name"], *cells, str(run["seed"]), *((run["state"],) if "state" in run else ()))
    table.caption = f"{len({r['condition'] for r in runs})} conditions; nothing trained (--dry-run)"
    return table


def _summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title=f"sweep {summary['name']} ({summary['executor']})", title_justify="left")
    for column in ("run", "status", "time", "error"):
        table.add_column(column, justify="right" if column == "time" else "left")
    for run in summary["runs"]:
        status = run["status"] + (" (resumed)" if run["resumed"] and run["status"] != "skipped" else "")
        seconds = "" if run["seconds"] is None else f"{run['seconds']:.1f} s"
        error = f"{run['error']}\n{run['error_log']}" if run["error"] else ""
        table.add_row(run["name"], status, seconds, error)
    table.caption = (
        f"{summary['complete']} complete, {summary['failed']} failed, {summary['skipped']} skipped (complete "
        f"before); in {summary['out']}"
    )
    return table


@reports_errors
def sweep_command(
    sweep_file: Annotated[Path, typer.Argument(help="A sweep file, e.g. configs/sweep-example.yaml.", readable=False)],
    out: Annotated[
        Path | None, typer.Option(help="The sweep directory (created; a sweep that stopped continues).")
    ] = None,
    jobs: Jobs = None,
    executor: Executor = "local",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the expanded runs; train nothing.")] = False,
    slurm: Slurm = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Expand a sweep file into runs and train every run not yet complete, one run directory each; a failed run
    is reported and the others go on (exit status 1 if any failed)."""
    read_yaml(sweep_file)  # a missing or malformed file stops here, before the training stack is imported
    check_executor(executor, jobs, installed=False)  # the extra is needed to train, not to list the runs
    if out is None and not dry_run:
        raise DataError("--out is required to train", fix="pass --out DIR, or --dry-run to only list the runs")
    parameters = slurm_parameters(slurm)
    from loradyn.experiments.execution import run_state, run_sweep
    from loradyn.experiments.sweep import load_sweep

    sweep = load_sweep(sweep_file)
    if dry_run:
        if data_dir is not None:
            sweep = sweep.with_data_dir(data_dir.resolve())
        plan = sweep.plan()
        if out is not None:
            for run in plan["runs"]:
                run["state"] = run_state(out / run["name"])
        emit(plan, as_json, _plan_table)
        return
    summary = run_sweep(sweep, out, jobs=jobs, executor=executor, data_dir=data_dir, slurm=parameters)
    emit(summary, as_json, _summary_table)
    if summary["failed"]:
        raise typer.Exit(1)

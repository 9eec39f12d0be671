"""``loradyn ract``: RACT end to end, beside training on noisy and on clean data, with every detector side by side."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.table import Table

from loradyn.cli.common import AsJson, DataDir, Executor, Jobs, Slurm, emit, reports_errors, slurm_parameters
from loradyn.cli.detect import mean_sd
from loradyn.io import write_atomic


def ract_table(summary: dict[str, Any]) -> Table:
    """Per noise rate, clean-test accuracy of each step (mean ± SD over seeds)."""
    config = summary["config"]
    retrain = config["retrain_rank"] or config["high_rank"]
    table = Table(
        title=f"RACT (ranks {config['low_rank']} and {config['high_rank']}): clean-test accuracy, mean ± SD over "
        f"seeds; noisy r{retrain}, removed, down-weighted and oracle at rank {retrain}",
        title_justify="left",
    )
    columns = ("noise", "seeds", f"noisy r{config['low_rank']}", f"noisy r{retrain}", "removed", "down-w.", "oracle")
    for column in columns:
        table.add_column(column, justify="right")
    for r in summary["accuracy"]:
        roles = ("low", "noisy", "removed", "downweighted", "oracle")
        table.add_row(f"{r['noise_rate']:g}", str(r["n_seeds"]), *(mean_sd(r, f"{role}_accuracy") for role in roles))
    return table


def detection_table(summary: dict[str, Any]) -> Table:
    """Per noise rate, rank discrepancy's flags against the truth, beside the trivial baseline's F1."""
    table = Table(
        title=f"rank discrepancy, flags by {summary['config']['threshold']} (mean ± SD over seeds); baseline: final "
        "prediction != label",
        title_justify="left",
    )
    for column in ("noise", "flagged", "precision", "recall", "F1", "AUROC", "baseline F1"):
        table.add_column(column, justify="right")
    for d in summary["detection"]:
        table.add_row(
            f"{d['noise_rate']:g}",
            f"{d['n_flagged_mean']:.0f}",
            *(mean_sd(d, m) for m in ("precision", "recall", "f1", "auroc", "baseline_f1")),
        )
    table.caption = "every detector: evaluation.json"
    return table


@reports_errors
def ract_command(
    config: Annotated[
        Path, typer.Argument(help="A RACT configuration, e.g. configs/ract-agnews-cpu.yaml.", readable=False)
    ],
    out: Annotated[Path, typer.Option(help="Folder of the steps' runs and the summary (an unfinished one resumes).")],
    data_dir: DataDir = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a field: --set noise_rate=0.2, --set high_rank=8.")
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Also write the results page, e.g. docs/results/ract-agnews-cpu.md.")
    ] = None,
    jobs: Jobs = None,
    executor: Executor = "local",
    slurm: Slurm = None,
    quiet: Annotated[bool, typer.Option(help="No line per step.")] = False,
    as_json: AsJson = False,
) -> None:
    """Train a low- and a high-rank adapter on noisy labels, flag the examples by rank discrepancy, retrain without
    them (removed and/or down-weighted), and compare clean-test accuracy with training on the noisy data and on
    clean data; every other detector runs on the same runs (detections.parquet, evaluation*). Writes ract.json.
    The runs train as `loradyn sweep` trains them (--executor, --jobs): first every run known before detection,
    then the retrainings."""
    from loradyn.experiments.executors import check_executor
    from loradyn.experiments.ract_config import load_ract_config
    from loradyn.experiments.ract_rounds import run_ract
    from loradyn.report.provenance import command_line

    started = time.perf_counter()
    parameters = slurm_parameters(slurm)
    check_executor(executor, jobs, slurm=parameters)
    overrides = list(set_ or [])
    if data_dir is not None:
        overrides.append(f"data_dir={data_dir}")
    ract = load_ract_config(config, overrides)
    summary = run_ract(
        ract,
        out,
        executor=executor,
        jobs=jobs,
        slurm=parameters,
        log=(lambda _: None) if quiet else None,
    )
    if report is not None:
        from loradyn.report.ract import ract_page
        from loradyn.report.ract_claims import memorisation_figure

        figure = None
        if summary["memorisation_over_seeds"]:
            figure = report.with_name(f"{report.stem}-memorisation.png")
            write_atomic(figure, lambda tmp: memorisation_figure(summary, tmp))
            summary = {**summary, "written": [*summary["written"], str(figure)]}
        page = ract_page(
            summary,
            command=command_line(),
            seconds=time.perf_counter() - started,
            figure=figure.name if figure else None,
        )
        write_atomic(report, lambda tmp: tmp.write_text(page, encoding="utf-8"))
        summary = {**summary, "written": [*summary["written"], str(report)]}
    emit(summary, as_json, lambda s: Group(ract_table(s), detection_table(s)), summary["written"][-2:])

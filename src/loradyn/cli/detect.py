"""``loradyn detect``: every noisy-label detector on the same runs, evaluated against the injected noise."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from loradyn.cli.common import (
    AsJson,
    Executor,
    Jobs,
    Slurm,
    at_least,
    emit,
    reports_errors,
    slurm_parameters,
    split_list,
)
from loradyn.errors import DataError

#: What a pair option looks like, for its error message.
EXAMPLES = {"--window": "0.5,1.0", "--ranks": "4,16"}
#: Threshold rules in the order tables show them.
THRESHOLD_ORDER = ("known_rate", "gmm", "trusted", "own")


def mean_sd(row: dict[str, Any], metric: str) -> str:
    """``mean ± SD`` of a metric aggregated over seeds (``<metric>_mean``, ``<metric>_sd``); blank if undefined."""
    mean, sd = row.get(f"{metric}_mean"), row.get(f"{metric}_sd")
    if mean is None:
        return ""
    return f"{mean:.3f}" if sd is None else f"{mean:.3f} ± {sd:.3f}"


def detector_name(row: dict[str, Any]) -> str:
    """A detector and the run(s) it read: ``rank_discrepancy r4|r16``, ``small_loss r16``."""
    if row.get("low_rank") is not None:
        return f"{row['detector']} r{row['low_rank']:g}|r{row['rank']:g}"
    return f"{row['detector']} r{row['rank']:g}" if row.get("rank") is not None else row["detector"]


def _pair(text: str, kind: type, what: str) -> tuple[Any, Any]:
    parts = split_list(text) or ()
    try:
        if len(parts) == 2:
            return kind(parts[0]), kind(parts[1])
    except ValueError:
        pass
    fix = f"write e.g. {what} {EXAMPLES[what]}"
    raise DataError(f"expects two comma-separated {kind.__name__}s, got {text!r}", field=what, fix=fix)


def detections_table(result: dict[str, Any]) -> Table:
    """Every detector's evaluation, mean ± SD over seeds, per noise rate and threshold rule."""
    table = Table(title="noisy-label detectors against the injected noise (mean ± SD over seeds)", title_justify="left")
    for column in ("noise", "threshold", "detector", "seeds", "precision", "recall", "F1", "AUROC", "AP"):
        table.add_column(column, justify="left" if column in ("threshold", "detector") else "right")
    rows = sorted(
        result["conditions"],
        key=lambda r: (r["noise_rate"], THRESHOLD_ORDER.index(r["threshold"]), -(r["f1_mean"] or -1)),
    )
    for r in rows:
        table.add_row(
            f"{r['noise_rate']:g}",
            r["threshold"],
            detector_name(r),
            str(r["n_seeds"]),
            *(mean_sd(r, m) for m in ("precision", "recall", "f1", "auroc", "average_precision")),
        )
    return table


@reports_errors
def detect_command(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run directories trained on noisy labels.")],
    out: Annotated[Path, typer.Option(help="Folder for detections.parquet and the evaluation files.")],
    detectors: Annotated[
        str | None, typer.Option(help="Comma-separated detector names; default: every one that applies.")
    ] = None,
    scope: Annotated[str, typer.Option(help="Examples scored: tracked (probed) or train (all).")] = "tracked",
    source: Annotated[str, typer.Option(help="Rows read where a detector can read either: auto, probe, inline.")] = (
        "auto"
    ),
    window: Annotated[str, typer.Option(help="Rank discrepancy's window: start,end as shares of training.")] = (
        "0.5,1.0"
    ),
    ranks: Annotated[str | None, typer.Option(help="The RACT pair low,high in a rank sweep, e.g. 4,16.")] = None,
    trusted: Annotated[
        Path | None, typer.Option(help="A trusted subset: .csv, .tsv, .jsonl or .parquet of example_id, is_noisy.")
    ] = None,
    trusted_size: Annotated[
        int | None, typer.Option(help="A trusted sample: N scored items whose truth each run's noise mask gives.")
    ] = None,
    kfold: Annotated[
        int | None, typer.Option(help="Train K held-out folds of each run, for confident learning (cleanlab: 5).")
    ] = None,
    jobs: Jobs = None,
    executor: Executor = "local",
    slurm: Slurm = None,
    seed: Annotated[int, typer.Option(help="Seed of the Gaussian mixture and of a trusted sample.")] = 0,
    quiet: Annotated[bool, typer.Option(help="No line per K-fold run as it ends.")] = False,
    as_json: AsJson = False,
) -> None:
    """Score every example with every applicable detector (rank discrepancy, small loss, AUM, data-map confidence,
    forgetting, prediction disagreement, confident learning), flag by each threshold rule, and evaluate against
    the injected noise: detections.parquet, evaluation.parquet (per run), evaluation_conditions.parquet (mean ±
    SD over seeds), evaluation_categories.parquet (per entropy category, where annotated) and evaluation.json.
    Every input is checked before anything is written. With --kfold the folds train as `loradyn sweep` trains its
    runs (--executor, --jobs; their logs in OUT/.logs)."""
    from loradyn.experiments.detect import detect_runs, read_trusted
    from loradyn.experiments.executors import check_executor

    if trusted is not None and trusted_size is not None:
        raise DataError("--trusted and --trusted-size are alternatives", field="--trusted", fix="pass one of them")
    at_least(0, seed=seed)
    parameters = slurm_parameters(slurm)
    check_executor(executor, jobs, installed=kfold is not None, slurm=parameters)
    result = detect_runs(
        run_dirs,
        out,
        kfold=kfold,
        executor=executor,
        jobs=jobs,
        slurm=parameters,
        log=(lambda _: None) if quiet else None,
        detectors=split_list(detectors, "--detectors"),
        scope=scope,
        source=source,
        window=_pair(window, float, "--window"),
        ranks=_pair(ranks, int, "--ranks") if ranks else None,
        trusted=read_trusted(trusted) if trusted is not None else trusted_size,
        seed=seed,
    )
    emit(result, as_json, detections_table, result["written"])

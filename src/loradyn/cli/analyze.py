"""``loradyn analyze``: per-example metrics and statistics from run directories."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from loradyn.cli.common import AsJson, at_least, emit, reports_errors, resamples


def _rho_cell(rho: dict[str, Any] | None) -> str:
    if rho is None or rho.get("estimate") is None:
        return ""
    interval = f" [{rho['low']:.3f}, {rho['high']:.3f}]" if rho.get("low") is not None else ""
    return f"{rho['estimate']:.3f}{interval}"


def _analysis_table(result: dict[str, Any]) -> Table:
    table = Table(title="Spearman rho with annotation entropy [95% bootstrap CI]", title_justify="left")
    for column in ("run", "AULC", "delta loss", "final loss", "within labels", "partial | length", "delta R2 (p)"):
        table.add_column(column, justify="left" if column == "run" else "right")
    for run in result["runs"]:
        spearman, controls = run.get("spearman", {}), run.get("controls", {})
        within = [r["rho"] for r in controls.get("within_label", {}).values()]
        partial = [r["estimate"] for r in controls.get("partial_one_length", {}).values() if r["estimate"] is not None]
        regression = run.get("hierarchical_regression_aulc", {})
        table.add_row(
            run["run"],
            *(_rho_cell(spearman.get(m)) for m in ("aulc", "delta_loss", "final_loss")),
            f"{min(within):.3f} to {max(within):.3f}" if within else "",
            f"{min(partial):.3f} to {max(partial):.3f}" if partial else "",
            f"{regression['delta_r2']:.4f} ({regression['pvalue']:.2g})" if "delta_r2" in regression else "",
        )
    for condition in result["conditions"]:
        if len(condition["runs"]) > 1 and "aulc" in condition["spearman"]:
            s = condition["spearman"]["aulc"]
            table.add_row(f"{len(condition['runs'])} seeds (mean ± SD)", f"{s['mean']:.3f} ± {s['sd']:.3f}")
    return table


@reports_errors
def analyze_command(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run directories made by `loradyn train`.")],
    out: Annotated[
        Path | None, typer.Option(help="Folder for analysis.json (default: the runs' common folder).")
    ] = None,
    n_resamples: Annotated[int, typer.Option(help="Bootstrap resamples per correlation.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    force: Annotated[bool, typer.Option(help="Replace results made for other runs or with other options.")] = False,
    as_json: AsJson = False,
) -> None:
    """Per-example metrics (metrics.parquet) and statistics (stats.json) of each run; seeds aggregated and every
    test adjusted over the family of runs (analysis.json)."""
    from loradyn.analyze import analyze

    resamples(n_resamples)
    at_least(0, seed=seed)
    result = analyze(run_dirs, out=out, n_resamples=n_resamples, seed=seed, force=force)
    emit(result, as_json, _analysis_table, result["written"])

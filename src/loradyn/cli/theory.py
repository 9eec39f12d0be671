"""``loradyn theory``: the second study's theory as measurable tools."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from loradyn.cli.common import AsJson, at_least, counted, emit, numbers, progress_line, reports_errors, split_list
from loradyn.errors import DataError
from loradyn.io import check_writable

theory_app = typer.Typer(help="The second study's theory as measurable tools.", no_args_is_help=True)


def _capacity_table(c: dict[str, Any]) -> Table:
    table = Table(title=f"LoRA r{c['rank']} on {c['model_type']}: capacity by dimension count", title_justify="left")
    for column in ("module", "shape (in x out)", "count", "r(d+k-r) each", "total"):
        table.add_column(column, justify="left" if column == "module" else "right")
    for m in c["modules"]:
        table.add_row(
            m["target"], f"{m['d_in']} x {m['d_out']}", str(m["count"]), f"{m['dof_each']:,}", f"{m['dof']:,}"
        )
    table.add_row("all", "", "", "", f"{c['dof']:,}")
    table.caption = (
        f"trainable parameters (PEFT, head included): {c['trainable_params']:,}; arbitrary labels cannot all be "
        f"fitted beyond about {c['memorisation_bound']:,} examples"
    )
    return table


@theory_app.command("capacity")
@reports_errors
def theory_capacity(
    model: Annotated[str, typer.Option(help="An alias (minilm, smollm2-135m), hub id or folder.")],
    rank: Annotated[int, typer.Option(help="LoRA rank r.")] = 16,
    method: Annotated[str, typer.Option(help="Only lora has a rank-based capacity.")] = "lora",
    targets: Annotated[str | None, typer.Option(help="Comma-separated adapted modules; default per family.")] = None,
    num_labels: Annotated[int, typer.Option(help="Classes of the classification head.")] = 3,
    as_json: AsJson = False,
) -> None:
    """Per adapted module its shape and r(d+k-r), the total, PEFT's trainable count and the memorisation bound,
    from the model's configuration alone."""
    from loradyn.models.registry import resolve_model
    from loradyn.theory.capacity import adapter_capacity

    if method != "lora":
        raise DataError(
            f"capacity is defined for method 'lora' (a rank-r update), not {method!r}",
            field="--method",
            fix="leave --method out (lora)",
        )
    at_least(1, rank=rank)
    at_least(2, num_labels=num_labels)
    capacity = adapter_capacity(
        resolve_model(model).config, rank=rank, targets=split_list(targets, "--targets"), num_labels=num_labels
    )
    emit(capacity.to_dict(), as_json, _capacity_table)


@theory_app.command("memorisation")
@reports_errors
def theory_memorisation(
    out: Annotated[Path, typer.Option(help="Folder for memorisation.csv, memorisation.png and theory.md.")] = Path(
        "runs/theory"
    ),
    ranks: Annotated[str, typer.Option(help="Comma-separated adapter ranks.")] = "1,2,4,8",
    d: Annotated[int, typer.Option(help="Input dimension of the frozen base.")] = 64,
    k: Annotated[int, typer.Option(help="Classes (output dimension).")] = 10,
    steps: Annotated[int, typer.Option(help="Full-batch Adam steps per fit.")] = 1500,
    seed: int = 0,
    as_json: AsJson = False,
) -> None:
    """Fit random labels with a rank-r adapter on a frozen random linear base, for n around r(d+k-r)."""
    from loradyn.theory.memorisation import RATIOS, memorisation_curve, plot_curve, transition_ratio
    from loradyn.theory.report import experiment_files, save_experiment

    rank_list = numbers(ranks, "--ranks")
    at_least(1, d=d, steps=steps)
    at_least(2, k=k)
    check_writable(experiment_files(out, "memorisation"))
    report = counted(
        len(rank_list) * len(RATIOS), lambda r: f"rank {r['rank']}, n {r['n']:,}: fitted {r['fitted']:.2f}"
    )
    curve = memorisation_curve(ranks=rank_list, d=d, k=k, steps=steps, seed=seed, on_fit=report)
    transition = transition_ratio(curve)
    command = f"loradyn theory memorisation --out {out} --ranks {ranks} --d {d} --k {k} --steps {steps} --seed {seed}"
    save_experiment(out, "memorisation", curve, plot_curve, command=command)
    payload = {"curve": curve.to_dict("records"), "transition_ratio": transition.to_dict(), "written": str(out)}
    emit(payload, as_json, lambda p: _memorisation_table(curve, transition))


def _memorisation_table(curve, transition) -> Table:
    table = Table(title="fraction of random labels fitted, by n / r(d+k-r)", title_justify="left")
    table.add_column("rank")
    ratios = sorted(curve["ratio"].unique())
    for ratio in ratios:
        table.add_column(f"{ratio:g}", justify="right")
    table.add_column("fits all up to", justify="right")
    for rank, group in curve.groupby("rank"):
        cells = [f"{v:.2f}" for v in group.sort_values("ratio")["fitted"]]
        reach = transition[rank]
        table.add_row(str(rank), *cells, "never" if reach != reach else f"{reach:g} x bound")
    return table


@theory_app.command("optimal-rank")
@reports_errors
def theory_optimal_rank(
    out: Annotated[Path, typer.Option(help="Folder for optimal_rank.csv/.png and theory.md.")] = Path("runs/theory"),
    ranks: Annotated[str, typer.Option(help="Comma-separated student ranks.")] = "1,2,4,8,16,32",
    noise_rates: Annotated[str, typer.Option(help="Comma-separated symmetric noise rates.")] = "0,0.2,0.4,0.6",
    n: Annotated[int, typer.Option(help="Training examples.")] = 1000,
    true_rank: Annotated[int, typer.Option(help="Rank of the teacher's shift.")] = 4,
    steps: Annotated[int, typer.Option(help="Full-batch Adam steps per student.")] = 1500,
    seed: int = 0,
    as_json: AsJson = False,
) -> None:
    """Clean test accuracy of rank-r students trained on noisy labels, and the best rank per noise rate."""
    from loradyn.theory.optimal_rank import best_rank, optimal_rank_grid, plot_grid
    from loradyn.theory.report import experiment_files, save_experiment

    rank_list = numbers(ranks, "--ranks")
    rates = numbers(noise_rates, "--noise-rates", float, minimum=0, below=1)
    at_least(1, n=n, true_rank=true_rank, steps=steps)
    check_writable(experiment_files(out, "optimal_rank"))
    report = counted(
        len(rank_list) * len(rates), lambda r: f"rank {r['rank']}, noise {r['noise_rate']:g}: {r['accuracy']:.3f}"
    )
    grid = optimal_rank_grid(
        ranks=rank_list, noise_rates=rates, n=n, true_rank=true_rank, steps=steps, seed=seed, on_fit=report
    )
    command = (
        f"loradyn theory optimal-rank --out {out} --ranks {ranks} --noise-rates {noise_rates} --n {n} "
        f"--true-rank {true_rank} --steps {steps} --seed {seed}"
    )
    save_experiment(out, "optimal_rank", grid, plot_grid, command=command)
    best = best_rank(grid)
    payload = {"grid": grid.to_dict("records"), "best_rank": {str(k): int(v) for k, v in best.items()}}
    table = Table(title="clean accuracy by rank (rows) and noise rate (columns)", title_justify="left")
    pivot = grid.pivot(index="rank", columns="noise_rate", values="accuracy")
    table.add_column("rank")
    for rate in pivot.columns:
        table.add_column(f"{rate:g}", justify="right")
    for rank, row in pivot.iterrows():
        table.add_row(str(rank), *(f"{v:.3f}" + (" *" if best[rate] == rank else "") for rate, v in row.items()))
    emit(payload, as_json, lambda p: table)


@theory_app.command("runs")
@reports_errors
def theory_runs(
    run_dirs: Annotated[list[Path], typer.Argument(help="Runs of one setting at several ranks and noise rates.")],
    out: Annotated[Path, typer.Option(help="Folder for real_rank.*, separation.* and theory.md.")] = Path(
        "runs/theory"
    ),
    as_json: AsJson = False,
) -> None:
    """From recorded runs: clean accuracy by rank and noise rate, and the temporal separation of clean and noisy
    examples (first-learned steps) in the runs trained on noisy labels."""
    from functools import partial

    from loradyn.theory.optimal_rank import plot_grid
    from loradyn.theory.report import experiment_files, save_experiment
    from loradyn.theory.separation import (
        learning_steps,
        plot_separation,
        rank_accuracy,
        separation_table,
        usable_runs,
    )

    command = "loradyn theory runs " + " ".join(str(d) for d in run_dirs) + f" --out {out}"
    runs, skipped = usable_runs(run_dirs)
    if not runs:
        raise DataError(
            f"none of the folders is a finished LoRA run ({'; '.join(skipped)})",
            path=run_dirs[0] if len(run_dirs) == 1 else None,
            fix="pass run directories made by loradyn train with method lora",
        )
    check_writable([*experiment_files(out, "real_rank"), *experiment_files(out, "separation")])
    for reason in skipped:
        progress_line(f"skipped {reason}")
    accuracy = rank_accuracy(runs)  # everything is computed before anything is written
    separation = separation_table(runs)
    steps = {d.name: learning_steps(d) for d in runs if d.name in set(separation.get("run", []))}
    save_experiment(out, "real_rank", accuracy, plot_grid, command=command)
    payload = {"accuracy": accuracy.to_dict("records"), "separation": separation.to_dict("records"), "skipped": skipped}
    if len(separation):
        save_experiment(out, "separation", separation, partial(plot_separation, steps=steps), command=command)
    table = Table(title="temporal separation (median first-learned step)", title_justify="left")
    for column in ("run", "rank", "clean", "noisy", "gap", "p (noisy later)"):
        table.add_column(column, justify="left" if column == "run" else "right")
    for r in separation.itertuples():
        table.add_row(
            r.run, str(r.rank), f"{r.median_clean:g}", f"{r.median_noisy:g}", f"{r.gap:g}", f"{r.p_later:.2g}"
        )
    emit(payload, as_json, lambda p: table)

"""``loradyn train`` and ``loradyn demo``: training runs that record every tracked example."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from loradyn.cli.common import AsJson, DataDir, console, emit, reports_errors
from loradyn.cli.data import annotated_table
from loradyn.data.catalog import load_examples
from loradyn.data.summary import summarize_annotated
from loradyn.errors import DataError
from loradyn.io import dumps, read_json, write_atomic


def _run_table(run: dict[str, Any], out: Path) -> Table:
    table = Table(title=f"run {run['run_id']}: {run['status']}", show_header=False, title_justify="left")
    config, data, seconds = run["config"], run["data"], run["timings"]
    method = f"{config['method']} r{config['rank']}" if config["method"] == "lora" else config["method"]
    table.add_row("model", f"{config['model']} ({method}, {run['model']['trainable_params']:,} trainable parameters)")
    table.add_row(
        "data", f"{data['n_train']:,} train, {data['n_tracked']:,} tracked, {data['n_validation']:,} validation"
    )
    accuracy = "  ".join(f"epoch {i + 1}: {a:.3f}" for i, a in enumerate(run["val_accuracy_per_epoch"]))
    table.add_row("validation accuracy", accuracy)
    table.add_row(
        "time",
        f"train {seconds['train']:.1f}s (inline recording {seconds['inline']:.1f}s of it), "
        f"probes {seconds['probe']:.1f}s",
    )
    table.add_row("checkpoints", f"{run['progress']['checkpoints']} probes over {run['progress']['step']} steps")
    table.add_row(
        "files", "\n".join(str(out / name) for name in ("run.json", "dynamics.parquet", "examples.parquet", "model/"))
    )
    return table


@reports_errors
def train_command(
    config: Annotated[Path, typer.Argument(help="A YAML run configuration, e.g. configs/smoke.yaml.", readable=False)],
    out: Annotated[Path, typer.Option(help="The run directory (created; an unfinished one is resumed).")],
    data_dir: DataDir = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a field: --set rank=16.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    force: Annotated[bool, typer.Option(help="Train again from scratch over a finished run in --out.")] = False,
    as_json: AsJson = False,
) -> None:
    """Fine-tune a model and record the dynamics of every tracked example."""
    from loradyn.train.config import load_config

    overrides = list(set_ or [])
    if data_dir is not None:
        if any(item.partition("=")[0].strip() == "data_dir" for item in overrides):
            raise DataError(
                "--data-dir and --set data_dir both say where the data are", field="--data-dir", fix="pass one of them"
            )
        overrides.append(f"data_dir={data_dir}")
    run_config = load_config(config, overrides)  # checked before the heavy imports below
    from loradyn.train.runner import discard_finished, train

    if force:
        discard_finished(out)
    run = train(run_config, out, show_progress=not (quiet or as_json))
    emit(run, as_json, lambda r: _run_table(r, out))


def _dynamics_payload(out: Path) -> dict[str, Any]:
    """Per entropy category: loss at step 0 and at the end, AULC, the share whose loss rose (the first study's
    un-learning) and the share learned then lost; and rho(AULC, entropy)."""
    from loradyn.metrics.table import example_metrics
    from loradyn.stats.correlation import spearman_ci

    metrics, _ = example_metrics(out)
    per_item = metrics.assign(first=metrics["final_loss"] - metrics["delta_loss"], unlearned=metrics["delta_loss"] > 0)
    categories = per_item.groupby("category").agg(
        n=("aulc", "size"),
        first=("first", "mean"),
        last=("final_loss", "mean"),
        aulc=("aulc", "mean"),
        unlearned=("unlearned", "mean"),
        lost=("learned_then_lost", "mean"),
    )
    return {
        "categories": categories.reindex(["clean", "ambiguous", "contested"]).reset_index().to_dict("records"),
        "spearman_aulc_entropy": spearman_ci(metrics["aulc"].to_numpy(), metrics["entropy"].to_numpy()).to_dict(),
    }


def _dynamics_table(d: dict[str, Any]) -> Table:
    r = d["spearman_aulc_entropy"]
    table = Table(
        title=f"tracked items by annotation entropy: Spearman rho(AULC, entropy) = {r['estimate']:.3f} "
        f"[95% CI {r['low']:.3f}, {r['high']:.3f}] (p = {r['pvalue']:.2g}, n = {r['n']:,})",
        title_justify="left",
    )
    columns = ("category", "items", "loss at step 0", "final loss", "AULC", "loss rose", "learned, then lost")
    for column in columns:
        table.add_column(column, justify="left" if column == "category" else "right")
    for c in d["categories"]:
        table.add_row(
            c["category"],
            f"{c['n']:,}",
            f"{c['first']:.3f}",
            f"{c['last']:.3f}",
            f"{c['aulc']:.3f}",
            f"{c['unlearned']:.1%}",
            f"{c['lost']:.1%}",
        )
    return table


@reports_errors
def demo(
    out: Annotated[Path, typer.Option(help="The demo's run directory.")] = Path("runs/demo"),
    report: Annotated[Path | None, typer.Option(help="Also write the demo's page, e.g. docs/results/demo.md.")] = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """The main job at laptop scale: ChaosNLI-SNLI's annotations, a LoRA run of minilm that records every tracked
    item, and how its learning curve follows annotation entropy (a finished demo is summarised, not re-run)."""
    import time

    from loradyn.analyze import analyze
    from loradyn.experiments.presets import demo_config
    from loradyn.report.provenance import command_line
    from loradyn.train.runner import RUN_JSON, train

    started = time.perf_counter()
    summary = summarize_annotated(load_examples("chaosnli-snli", data_dir=data_dir))
    if not as_json:
        console.print(annotated_table(summary))
    config = demo_config(data_dir=str(data_dir) if data_dir else None)
    previous = read_json(out / RUN_JSON, fix="choose another --out") if (out / RUN_JSON).is_file() else None
    done = (
        isinstance(previous, dict) and isinstance(previous.get("config"), dict) and previous.get("status") == "complete"
    )
    run = previous if done else train(config, out, show_progress=not as_json)  # train refuses a foreign folder
    dynamics = _dynamics_payload(out)
    (stats,) = analyze([out], workers=1, force=True)["runs"]
    if report is not None:
        from loradyn.report.demo import demo_page

        page = demo_page(run, stats, command=command_line(), seconds=time.perf_counter() - started, reused=done)
        write_atomic(report, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    if as_json:
        typer.echo(dumps({"data": summary, "run": run, "dynamics": dynamics, "stats": stats}))
        return
    console.print(_run_table(run, out))
    console.print(_dynamics_table(dynamics))
    if report is not None:
        console.print(f"written: {report}")

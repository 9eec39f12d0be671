"""The ``loradyn`` command line: a thin layer over the library. Every table has a ``--json`` twin."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from loradyn.data.catalog import FileMapping, is_annotated, load_examples
from loradyn.data.noise import NOISE_KINDS, inject_noise
from loradyn.data.standard import STANDARD, load_standard
from loradyn.data.summary import summarize_annotated, summarize_standard
from loradyn.errors import DataError
from loradyn.io import dumps, write_json, write_jsonl

app = typer.Typer(help="Per-example training dynamics in fine-tuning.", no_args_is_help=True)
data_app = typer.Typer(help="Datasets and their annotations.", no_args_is_help=True)
noise_app = typer.Typer(help="Label-noise injection.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(noise_app, name="noise")

console = Console()
errors = Console(stderr=True)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", envvar="LORADYN_DATA_DIR", help="Folder laid out like ../shared/data.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
TextFields = Annotated[str, typer.Option(help="User file: comma-separated text fields.")]
CountFields = Annotated[str | None, typer.Option(help="User file: comma-separated per-class count columns.")]
LabelsField = Annotated[str | None, typer.Option(help="User file: the field listing each annotator's label.")]
LabelNames = Annotated[str | None, typer.Option(help="User file: comma-separated class names, in index order.")]
IdField = Annotated[str | None, typer.Option(help="User file: the field with a unique item id.")]
GoldField = Annotated[str | None, typer.Option(help="User file: the field with a reference label.")]


def _split_list(value: str | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(part.strip() for part in value.split(",") if part.strip())


def _mapping(text_fields, count_fields, labels_field, label_names, id_field, gold_field) -> FileMapping:
    return FileMapping(
        text_fields=_split_list(text_fields),
        count_fields=_split_list(count_fields),
        labels_field=labels_field,
        label_names=_split_list(label_names),
        id_field=id_field,
        gold_field=gold_field,
    )


def reports_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn bad input into one readable line on stderr and exit status 2, instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (DataError, ValueError) as err:
            errors.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


def _emit(payload: dict[str, Any], as_json: bool, render: Callable[[dict[str, Any]], Table]) -> None:
    if as_json:
        typer.echo(dumps(payload))
    else:
        console.print(render(payload))


def _annotated_table(s: dict[str, Any]) -> Table:
    table = Table(title=f"{s['name']}: {s['n_items']:,} items", show_header=False, title_justify="left")
    e = s["entropy_nats"]
    table.add_row("annotations per item", f"mean {s['n_annotations']['mean']:.1f}, min {s['n_annotations']['min']}")
    table.add_row("entropy (nats)", f"mean {e['mean']:.3f}  median {e['median']:.3f}  max {e['max']:.3f}")
    table.add_row("categories", "  ".join(f"{c} {share:.1%}" for c, share in s["categories"].items()))
    table.add_row("majority labels", "  ".join(f"{k} {v:,}" for k, v in s["majority_labels"].items()))
    table.add_row("majority ties", f"{s['majority_ties']} (broken in class order)")
    if s["gold_labels"]:
        table.add_row("gold labels", "  ".join(f"{k} {v:,}" for k, v in s["gold_labels"].items()))
    split = s["splits"]
    table.add_row(
        "80/20 split", split.get("unavailable") or f"train {split['train']:,}  held-out {split['held_out']:,}"
    )
    return table


def _standard_table(s: dict[str, Any]) -> Table:
    table = Table(title=f"{s['name']}: {s['n_items']:,} items", title_justify="left")
    table.add_column("split")
    table.add_column("items", justify="right")
    table.add_column("labels")
    for split, n in s["splits"].items():
        table.add_row(split, f"{n:,}", "  ".join(f"{k} {v:,}" for k, v in s["labels"][split].items()))
    return table


@data_app.command("summary")
@reports_errors
def data_summary(
    name: Annotated[
        str,
        typer.Argument(
            help="chaosnli-snli, chaosnli-mnli, chaosnli-alphanli, snli, mnli, "
            "ag-news, or a path to a .csv/.tsv/.jsonl file."
        ),
    ],
    data_dir: DataDir = None,
    text_fields: TextFields = "text",
    count_fields: CountFields = None,
    labels_field: LabelsField = None,
    label_names: LabelNames = None,
    id_field: IdField = None,
    gold_field: GoldField = None,
    as_json: AsJson = False,
) -> None:
    """Item count, annotation entropy (nats), categories, label distribution and split sizes."""
    if is_annotated(name):
        mapping = _mapping(text_fields, count_fields, labels_field, label_names, id_field, gold_field)
        _emit(summarize_annotated(load_examples(name, data_dir=data_dir, mapping=mapping)), as_json, _annotated_table)
    else:
        if name not in STANDARD:
            load_examples(name)  # raises the unknown-name error
        splits = {split: load_standard(name, split, data_dir=data_dir) for split in STANDARD[name].splits}
        _emit(summarize_standard(splits), as_json, _standard_table)


def _parse_class_map(value: str | None) -> dict[int, int] | None:
    if value is None:
        return None
    try:
        pairs = [part.split(":") for part in value.split(",")]
        return {int(a): int(b) for a, b in pairs}
    except ValueError:
        raise ValueError(f"--class-map must look like 0:1,1:2,2:0, got {value!r}") from None


def _noise_table(s: dict[str, Any]) -> Table:
    table = Table(title=f"{s['dataset']}: {s['kind']} noise", show_header=False, title_justify="left")
    table.add_row("flipped", f"{s['n_flipped']:,} of {s['n_items']:,} ({s['realised_rate']:.2%})")
    table.add_row("seed", str(s["seed"]))
    for name, row in zip(s["label_names"], s["transition"], strict=True):
        table.add_row(f"{name} ->", "  ".join(f"{p:.3f}" for p in row))
    table.add_row("written", f"{s['examples']}\n{s['manifest']}")
    return table


@noise_app.command("inject")
@reports_errors
def noise_inject(
    name: Annotated[str, typer.Argument(help="A dataset name (see `data summary`) or a user file.")],
    out: Annotated[Path, typer.Option(help="Folder for examples.jsonl and noise.json.")],
    rate: Annotated[float, typer.Option(help="Share of labels to flip, in [0, 1).")],
    kind: Annotated[str, typer.Option(help=f"One of {', '.join(NOISE_KINDS)}.")] = "symmetric",
    seed: Annotated[int, typer.Option(help="Seed of the flips.")] = 0,
    split: Annotated[str, typer.Option(help="Split of a standard dataset.")] = "train",
    class_map: Annotated[str | None, typer.Option(help="Asymmetric noise: a permutation, e.g. 0:1,1:2,2:0.")] = None,
    data_dir: DataDir = None,
    text_fields: TextFields = "text",
    count_fields: CountFields = None,
    labels_field: LabelsField = None,
    label_names: LabelNames = None,
    id_field: IdField = None,
    gold_field: GoldField = None,
    as_json: AsJson = False,
) -> None:
    """Write a noisy copy of a dataset (``label`` noisy, ``original_label``, ``is_noisy``) and its manifest."""
    mapping = _mapping(text_fields, count_fields, labels_field, label_names, id_field, gold_field)
    examples = load_examples(name, split=split, data_dir=data_dir, mapping=mapping)
    noisy = inject_noise(
        examples.labels,
        rate=rate,
        kind=kind,
        n_classes=len(examples.task.label_names),
        class_map=_parse_class_map(class_map),
        counts=examples.counts if kind == "human" else None,
        seed=seed,
    )
    frame = examples.frame.assign(label=noisy.labels, original_label=examples.labels, is_noisy=noisy.is_noisy)
    records = json.loads(frame.to_json(orient="records", force_ascii=False))
    manifest = {
        "dataset": examples.name,
        "kind": kind,
        "rate": rate,
        "seed": seed,
        "class_map": _parse_class_map(class_map),
        "n_items": len(examples),
        "n_flipped": int(noisy.is_noisy.sum()),
        "realised_rate": noisy.rate,
        "label_names": list(examples.task.label_names),
        "transition": np.round(noisy.transition, 6).tolist(),
        "examples": str(out / "examples.jsonl"),
        "manifest": str(out / "noise.json"),
    }
    write_jsonl(out / "examples.jsonl", records)
    write_json(out / "noise.json", manifest)
    _emit(manifest, as_json, _noise_table)


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


@app.command("train")
@reports_errors
def train_command(
    config: Annotated[Path, typer.Argument(help="A YAML run configuration, e.g. configs/smoke.yaml.")],
    out: Annotated[Path, typer.Option(help="The run directory (created; an unfinished one is resumed).")],
    data_dir: DataDir = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a field: --set rank=16.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    as_json: AsJson = False,
) -> None:
    """Fine-tune a model and record the dynamics of every tracked example."""
    from loradyn.train.config import load_config
    from loradyn.train.runner import train

    overrides = list(set_ or [])
    if data_dir is not None:
        overrides.append(f"data_dir={data_dir}")
    run = train(load_config(config, overrides), out, show_progress=not (quiet or as_json))
    _emit(run, as_json, lambda r: _run_table(r, out))


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


@app.command("demo")
@reports_errors
def demo(
    out: Annotated[Path, typer.Option(help="The demo's run directory.")] = Path("runs/demo"),
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """The main job at laptop scale: ChaosNLI-SNLI's annotations, a LoRA run of minilm that records every tracked
    item, and how its learning curve follows annotation entropy (a finished demo is summarised, not re-run)."""
    from loradyn.experiments.presets import demo_config
    from loradyn.train.runner import RUN_JSON, train

    summary = summarize_annotated(load_examples("chaosnli-snli", data_dir=data_dir))
    if not as_json:
        console.print(_annotated_table(summary))
    config = demo_config(data_dir=str(data_dir) if data_dir else None)
    done = (out / RUN_JSON).is_file() and json.loads((out / RUN_JSON).read_text())["status"] == "complete"
    run = json.loads((out / RUN_JSON).read_text()) if done else train(config, out, show_progress=not as_json)
    dynamics = _dynamics_payload(out)
    if as_json:
        typer.echo(dumps({"data": summary, "run": run, "dynamics": dynamics}))
        return
    console.print(_run_table(run, out))
    console.print(_dynamics_table(dynamics))


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
    table.caption = "written: " + ", ".join(result["written"])
    return table


@app.command("analyze")
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

    result = analyze(run_dirs, out=out, n_resamples=n_resamples, seed=seed, force=force)
    _emit(result, as_json, _analysis_table)


theory_app = typer.Typer(help="The second study's theory as measurable tools.", no_args_is_help=True)
app.add_typer(theory_app, name="theory")


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
        raise ValueError(f"capacity is defined for method 'lora' (a rank-r update), not {method!r}")
    capacity = adapter_capacity(
        resolve_model(model).config, rank=rank, targets=_split_list(targets), num_labels=num_labels
    )
    _emit(capacity.to_dict(), as_json, _capacity_table)


@theory_app.command("memorisation")
@reports_errors
def theory_memorisation(
    out: Annotated[Path, typer.Option(help="Folder for memorisation.csv, memorisation.png and theory.md.")] = Path(
        "docs/results"
    ),
    ranks: Annotated[str, typer.Option(help="Comma-separated adapter ranks.")] = "1,2,4,8",
    d: Annotated[int, typer.Option(help="Input dimension of the frozen base.")] = 64,
    k: Annotated[int, typer.Option(help="Classes (output dimension).")] = 10,
    steps: Annotated[int, typer.Option(help="Full-batch Adam steps per fit.")] = 1500,
    seed: int = 0,
    as_json: AsJson = False,
) -> None:
    """Fit random labels with a rank-r adapter on a frozen random linear base, for n around r(d+k-r)."""
    from loradyn.theory.memorisation import memorisation_curve, plot_curve, transition_ratio
    from loradyn.theory.report import save_experiment

    curve = memorisation_curve(ranks=[int(r) for r in _split_list(ranks)], d=d, k=k, steps=steps, seed=seed)
    transition = transition_ratio(curve)
    command = f"loradyn theory memorisation --out {out} --ranks {ranks} --d {d} --k {k} --steps {steps} --seed {seed}"
    save_experiment(out, "memorisation", curve, plot_curve, command=command)
    payload = {"curve": curve.to_dict("records"), "transition_ratio": transition.to_dict(), "written": str(out)}
    _emit(payload, as_json, lambda p: _memorisation_table(curve, transition))


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
    out: Annotated[Path, typer.Option(help="Folder for optimal_rank.csv/.png and theory.md.")] = Path("docs/results"),
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
    from loradyn.theory.report import save_experiment

    grid = optimal_rank_grid(
        ranks=[int(r) for r in _split_list(ranks)],
        noise_rates=[float(r) for r in _split_list(noise_rates)],
        n=n,
        true_rank=true_rank,
        steps=steps,
        seed=seed,
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
    _emit(payload, as_json, lambda p: table)


@theory_app.command("runs")
@reports_errors
def theory_runs(
    run_dirs: Annotated[list[Path], typer.Argument(help="Runs of one setting at several ranks and noise rates.")],
    out: Annotated[Path, typer.Option(help="Folder for real_rank.*, separation.* and theory.md.")] = Path(
        "docs/results"
    ),
    as_json: AsJson = False,
) -> None:
    """From recorded runs: clean accuracy by rank and noise rate, and the temporal separation of clean and noisy
    examples (first-learned steps) in the runs trained on noisy labels."""
    from functools import partial

    from loradyn.theory.optimal_rank import plot_grid
    from loradyn.theory.report import save_experiment
    from loradyn.theory.separation import learning_steps, plot_separation, rank_accuracy, separation_table

    command = "loradyn theory runs " + " ".join(str(d) for d in run_dirs) + f" --out {out}"
    accuracy = rank_accuracy(run_dirs)
    save_experiment(out, "real_rank", accuracy, plot_grid, command=command)
    separation = separation_table(run_dirs)
    payload = {"accuracy": accuracy.to_dict("records"), "separation": separation.to_dict("records")}
    if len(separation):
        steps = {d.name: learning_steps(d) for d in run_dirs if d.name in set(separation["run"])}
        save_experiment(out, "separation", separation, partial(plot_separation, steps=steps), command=command)
    table = Table(title="temporal separation (median first-learned step)", title_justify="left")
    for column in ("run", "rank", "clean", "noisy", "gap", "p (noisy later)"):
        table.add_column(column, justify="left" if column == "run" else "right")
    for r in separation.itertuples():
        table.add_row(
            r.run, str(r.rank), f"{r.median_clean:g}", f"{r.median_noisy:g}", f"{r.gap:g}", f"{r.p_later:.2g}"
        )
    _emit(payload, as_json, lambda p: table)

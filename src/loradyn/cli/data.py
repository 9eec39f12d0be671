"""``loradyn data`` and ``loradyn noise``: datasets, their annotations, and label-noise injection."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from loradyn.cli.common import (
    AsJson,
    CountFields,
    DataDir,
    GoldField,
    IdField,
    LabelNames,
    LabelsField,
    TextFields,
    at_least,
    emit,
    file_mapping,
    reports_errors,
)
from loradyn.data.catalog import is_annotated, load_examples
from loradyn.data.noise import NOISE_KINDS, inject_noise
from loradyn.data.standard import STANDARD, load_standard
from loradyn.data.summary import summarize_annotated, summarize_standard
from loradyn.errors import DataError
from loradyn.io import check_writable, json_writer, jsonl_writer, write_files

data_app = typer.Typer(help="Datasets and their annotations.", no_args_is_help=True)
noise_app = typer.Typer(help="Label-noise injection.", no_args_is_help=True)


def annotated_table(s: dict[str, Any]) -> Table:
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
        mapping = file_mapping(text_fields, count_fields, labels_field, label_names, id_field, gold_field)
        emit(summarize_annotated(load_examples(name, data_dir=data_dir, mapping=mapping)), as_json, annotated_table)
    else:
        if name not in STANDARD:
            load_examples(name)  # raises the unknown-name error
        splits = {split: load_standard(name, split, data_dir=data_dir) for split in STANDARD[name].splits}
        emit(summarize_standard(splits), as_json, _standard_table)


def _parse_class_map(value: str | None) -> dict[int, int] | None:
    if value is None:
        return None
    try:
        pairs = [part.split(":") for part in value.split(",")]
        return {int(a): int(b) for a, b in pairs}
    except ValueError:
        raise DataError(
            f"--class-map must look like 0:1,1:2,2:0, got {value!r}", field="--class-map", fix="map each class once"
        ) from None


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
    """Write a noisy copy of a dataset (``label`` noisy, ``original_label``, ``is_noisy``) as JSON lines and Parquet
    (``datasets.load_dataset("parquet", data_files=...)`` reads it), and its manifest; `loradyn train` takes the
    folder as its ``dataset``."""
    at_least(0, seed=seed)
    mapping = file_mapping(text_fields, count_fields, labels_field, label_names, id_field, gold_field)
    outputs = {name: out / name for name in ("examples.jsonl", "examples.parquet", "noise.json")}
    if Path(name).exists() and any(os.path.realpath(o) == os.path.realpath(name) for o in outputs.values()):
        raise DataError("the output would overwrite the input", path=name, fix="choose another --out")
    check_writable(outputs.values())
    examples = load_examples(name, split=split, data_dir=data_dir, mapping=mapping)
    if kind == "human" and not examples.has_votes:
        raise DataError(
            f"human-like noise flips to the annotators' runner-up class, and {examples.name} has no annotator votes",
            field="--kind",
            fix="use --kind symmetric or asymmetric, or a ChaosNLI part or a multi-annotator file",
        )
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
        "task": asdict(examples.task),
        "kind": kind,
        "rate": rate,
        "seed": seed,
        "class_map": _parse_class_map(class_map),
        "n_items": len(examples),
        "n_flipped": int(noisy.is_noisy.sum()),
        "realised_rate": noisy.rate,
        "label_names": list(examples.task.label_names),
        "transition": np.round(noisy.transition, 6).tolist(),
        "examples": str(outputs["examples.jsonl"]),
        "manifest": str(outputs["noise.json"]),
    }
    write_files(
        {
            outputs["examples.jsonl"]: jsonl_writer(records),
            outputs["examples.parquet"]: lambda tmp: frame.to_parquet(tmp, index=False),
            outputs["noise.json"]: json_writer(manifest),  # last: a folder with a manifest is complete
        }
    )
    emit(manifest, as_json, _noise_table)

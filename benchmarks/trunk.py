"""Trunk-cache benchmark: one run of ``configs/ract-agnews-capacity.yaml``'s high-rank step, trained with the frozen
encoder recomputed at every presentation and with ``cache_trunk`` (its output computed once per item), in one
process, one after the other; wall time of each, and how far their recorded dynamics differ.

    python benchmarks/trunk.py --data-dir ../shared/data            # writes docs/benchmarks/trunk.{md,json}
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from loradyn.experiments.ract_config import load_ract_config
from loradyn.io import write_atomic, write_json
from loradyn.store import read_dynamics
from loradyn.train.runner import train

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks"
PRESET = ROOT / "configs" / "ract-agnews-capacity.yaml"
KEYS = ["example_id", "checkpoint", "mode", "target"]


def timed_run(config, out: Path) -> tuple[float, dict, object]:
    started = time.perf_counter()
    result = train(config, out, show_progress=False)
    return time.perf_counter() - started, result, read_dynamics(out).sort_values(KEYS).reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("LORADYN_DATA_DIR", "../shared/data"))
    parser.add_argument("--epochs", type=int, default=None, help="default: the preset's")
    args = parser.parse_args()
    preset = load_ract_config(PRESET)
    config = dataclasses.replace(
        preset.run,
        rank=preset.high_rank,
        record_labels="both",
        data_dir=str(Path(args.data_dir).resolve()),
        epochs=args.epochs or preset.run.epochs,
    )
    with tempfile.TemporaryDirectory() as tmp:
        plain = timed_run(dataclasses.replace(config, cache_trunk=False), Path(tmp) / "plain")
        cached = timed_run(dataclasses.replace(config, cache_trunk=True), Path(tmp) / "cached")
    (plain_s, plain_run, plain_rows), (cached_s, cached_run, cached_rows) = plain, cached
    assert plain_rows[KEYS].equals(cached_rows[KEYS]), "the two runs recorded different rows"
    result = {
        "command": "python benchmarks/trunk.py --data-dir ../shared/data"
        + (f" --epochs {args.epochs}" if args.epochs else ""),
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cpu_threads": torch.get_num_threads(), "processor": platform.processor() or platform.machine()},
        "torch": torch.__version__,
        "run": {k: getattr(config, k) for k in ("model", "targets", "rank", "n_bulk", "n_validation", "epochs")},
        "seconds": {"recomputed": plain_s, "cached": cached_s},
        "speedup": plain_s / cached_s,
        "max_abs_difference": {
            column: float(np.abs(cached_rows[column] - plain_rows[column]).max()) for column in ("loss", "p_gold")
        },
        "predictions_equal": float((cached_rows["pred"] == plain_rows["pred"]).mean()),
        "val_accuracy": {
            "recomputed": plain_run["final"]["val_accuracy"],
            "cached": cached_run["final"]["val_accuracy"],
        },
        "rows": len(plain_rows),
    }
    write_json(DOCS / "trunk.json", result)
    run, diff = result["run"], result["max_abs_difference"]
    adapted = ", ".join(run["targets"])
    text = f"""# Trunk-cache benchmark

Made by `{result["command"]}` on {result["date"]} ({result["machine"]["cpu_threads"]} CPU threads,
{result["machine"]["processor"]}, torch {result["torch"]}); raw numbers in `trunk.json`. One run of
`configs/ract-agnews-capacity.yaml`'s high-rank step ({run["model"]}, LoRA r{run["rank"]} on {adapted},
{run["n_bulk"]:,} AG News training items, {run["n_validation"]:,} clean-test items each epoch,
{run["epochs"]} epochs), trained twice in one process: the frozen encoder recomputed at every presentation, then
`cache_trunk: true`.

| | wall time (model loading, training, probes, writing) | clean-test accuracy |
|---|---|---|
| encoder recomputed | {plain_s:.1f} s | {result["val_accuracy"]["recomputed"]:.4f} |
| `cache_trunk` | {cached_s:.1f} s | {result["val_accuracy"]["cached"]:.4f} |
| speed-up | **{result["speedup"]:.2f}x** | |

Over the {result["rows"]:,} recorded rows the largest difference is {diff["loss"]:.1e} in loss and
{diff["p_gold"]:.1e} in p_gold, and {result["predictions_equal"]:.2%} of the predictions are equal.
"""
    write_atomic(DOCS / "trunk.md", lambda path: path.write_text(text))


if __name__ == "__main__":
    main()

"""The GPU check's report: per run, training throughput, probe and inline-recording overhead, peak memory and
validation accuracy, read from each run's run.json; written by benchmarks/gpu_check.sh.

    python benchmarks/gpu_report.py RUN_DIR... --doc docs/benchmarks/gpu.md --wall SECONDS --command "..."
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
from pathlib import Path

import torch

from loradyn.io import write_atomic, write_json


def measure(run_dir: Path) -> dict:
    """The numbers of one finished run: examples trained per second of training-step time (inline recording
    included), probe time and inline time as shares of the training time, peak memory and validation accuracy."""
    run = json.loads((run_dir / "run.json").read_text())
    if run.get("status") != "complete":
        raise SystemExit(f"{run_dir}: status {run.get('status')!r}, not complete")
    seconds, data = run["timings"], run["data"]
    examples = data["n_train"] * run["config"]["epochs"]
    return {
        "run": run_dir.name,
        "device": run["device"],
        "precision": run["mixed_precision"],
        "train_examples": examples,
        "examples_per_second": examples / seconds["train"],
        "probe_overhead": seconds["probe"] / seconds["train"],
        "inline_overhead": seconds["inline"] / seconds["train"],
        "peak_memory_gib": run["peak_memory_bytes"] / 2**30,
        "val_accuracy": run["final"]["val_accuracy"],
        "seconds": seconds,
    }


def render(rows: list[dict], *, command: str, wall: float) -> str:
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"no GPU ({platform.machine()} CPU)"
    lines = [
        "# GPU check",
        "",
        f"Made by `{command}` on {datetime.date.today()}, {device}, torch {torch.__version__}, in {wall:.0f} s of "
        "wall time (starts and model loads included); raw numbers in `gpu.json`. Throughput: examples trained per "
        "second of training-step time (forward, backward, optimizer, inline recording). Probe overhead: time of "
        "the eval-mode probes of the tracked items as a share of the training time; inline: recording every "
        "training example's loss inside the step, likewise. Peak memory: allocated on the GPU (the CPU's resident "
        "set where there is none).",
        "",
        "| run | device | precision | examples trained | examples/s | probe overhead | inline overhead | "
        "peak memory | val. accuracy |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['run']} | {r['device']} | {r['precision']} | {r['train_examples']:,} | "
            f"{r['examples_per_second']:,.1f} | {r['probe_overhead']:.1%} | {r['inline_overhead']:.1%} | "
            f"{r['peak_memory_gib']:.2f} GiB | {r['val_accuracy']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--doc", type=Path, required=True)
    parser.add_argument("--wall", type=float, required=True)
    parser.add_argument("--command", required=True)
    args = parser.parse_args()
    rows = [measure(run) for run in args.runs]
    write_atomic(args.doc, lambda tmp: tmp.write_text(render(rows, command=args.command, wall=args.wall)))
    write_json(args.doc.with_suffix(".json"), {"command": args.command, "wall_seconds": args.wall, "runs": rows})
    print(f"wrote {args.doc} and {args.doc.with_suffix('.json')}")


if __name__ == "__main__":
    main()

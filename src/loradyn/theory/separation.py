"""From recorded runs with injected noise: clean examples are learned early, noisy ones late (temporal
separation), and how clean accuracy varies with the adapter rank on real data."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from loradyn.errors import DataError
from loradyn.io import read_json, read_parquet
from loradyn.metrics.curves import checkpoint_matrices, first_learned, learned
from loradyn.store import read_dynamics
from loradyn.theory.figures import figure


def _config(run_dir: Path) -> dict:
    return read_json(run_dir / "run.json")


#: What the theory tools read from each run's ``run.json``: these ``config`` fields and these top-level entries.
CONFIG_FIELDS = ("dataset", "model", "rank", "noise_rate")


def usable_runs(run_dirs: Sequence[str | os.PathLike[str]]) -> tuple[list[Path], list[str]]:
    """The finished LoRA runs among ``run_dirs`` (a shell glob also matches other folders), and why each other one
    is left out."""
    usable, skipped = [], []
    for run_dir in map(Path, run_dirs):
        if not (run_dir / "run.json").is_file():
            skipped.append(f"{run_dir}: not a run directory (no run.json)")
            continue
        try:
            run = _config(run_dir)
        except DataError as err:
            skipped.append(f"{run_dir}: run.json is unreadable ({err.message})")
            continue
        config = run.get("config") if isinstance(run, dict) else None
        if not isinstance(config, dict) or run.get("status") != "complete":
            skipped.append(
                f"{run_dir}: not a finished run (status {run.get('status') if isinstance(run, dict) else '?'})"
            )
        elif config.get("method") != "lora":
            skipped.append(f"{run_dir}: method {config.get('method')!r} has no rank")
        elif any(name not in config for name in CONFIG_FIELDS) or not _final_accuracy(run):
            skipped.append(f"{run_dir}: run.json lacks {', '.join(CONFIG_FIELDS)} or the accuracy per epoch")
        elif not (run_dir / "dynamics.parquet").is_file():
            skipped.append(f"{run_dir}: no dynamics.parquet")
        else:
            usable.append(run_dir)
    return usable, skipped


def _final_accuracy(run: dict) -> float | None:
    """The last epoch's validation accuracy, where run.json also says how many steps the run took; else None."""
    per_epoch, progress = run.get("val_accuracy_per_epoch"), run.get("progress")
    finished = isinstance(progress, dict) and isinstance(progress.get("step"), int)
    ok = finished and isinstance(per_epoch, list) and per_epoch and isinstance(per_epoch[-1], int | float)
    return per_epoch[-1] if ok else None


def learning_steps(run_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Per tracked example: ``is_noisy`` and the step from which it stays learned against the label it was
    trained on (its argmax prediction is the noisy label, from probe rows); NaN if never."""
    run_dir = Path(run_dir)
    probes = read_dynamics(run_dir, mode="probe")
    probes = probes[probes["target"] == "noisy"]
    if probes.empty:
        raise DataError(
            "no probe rows against the noisy labels",
            path=run_dir,
            field="record_labels",
            fix="train with noise and record_labels: both",
        )
    ids, steps, (correct,) = checkpoint_matrices(
        probes.assign(correct=learned(probes["pred"], probes["label"])), ("correct",)
    )
    examples = read_parquet(run_dir / "examples.parquet").set_index("example_id")
    return pd.DataFrame(
        {
            "example_id": ids,
            "is_noisy": examples.loc[ids, "is_noisy"].to_numpy(),
            "learned_step": first_learned(correct, steps),
        }
    )


def separation_table(run_dirs: Sequence[str | os.PathLike[str]]) -> pd.DataFrame:
    """Per noisy run: median first-learned step of clean and of noisy examples (never-learned items count as
    learned after the last step), the gap, the share never learned, and a one-sided Mann-Whitney U p-value that
    noisy items are learned later."""
    rows = []
    for run_dir in map(Path, run_dirs):
        config = _config(run_dir)["config"]
        if config["noise_rate"] == 0:
            continue
        steps = learning_steps(run_dir)
        last = _config(run_dir)["progress"]["step"] + 1
        filled = steps["learned_step"].fillna(last)
        clean, noisy = filled[~steps["is_noisy"]], filled[steps["is_noisy"]]
        rows.append(
            {
                "run": run_dir.name,
                "rank": config["rank"],
                "noise_rate": config["noise_rate"],
                "n_clean": len(clean),
                "n_noisy": len(noisy),
                "median_clean": float(clean.median()),
                "median_noisy": float(noisy.median()),
                "gap": float(noisy.median() - clean.median()),
                "never_clean": float(steps.loc[~steps["is_noisy"], "learned_step"].isna().mean()),
                "never_noisy": float(steps.loc[steps["is_noisy"], "learned_step"].isna().mean()),
                "p_later": float(stats.mannwhitneyu(noisy, clean, alternative="greater").pvalue),
            }
        )
    return pd.DataFrame(rows).sort_values("rank").reset_index(drop=True)


def rank_accuracy(run_dirs: Sequence[str | os.PathLike[str]]) -> pd.DataFrame:
    """Final validation accuracy (clean labels) by rank and noise rate: the mean over the runs that differ only in
    their seed, its SD (ddof = 1) and the number of seeds; ``setting`` names the dataset and model."""
    rows = []
    for run_dir in map(Path, run_dirs):
        run = _config(run_dir)
        config = run["config"]
        rows.append(
            {
                "setting": f"{config['dataset']}, {config['model']}",
                "rank": config["rank"],
                "noise_rate": config["noise_rate"],
                "accuracy": _final_accuracy(run),
            }
        )
    grouped = pd.DataFrame(rows).groupby(["setting", "noise_rate", "rank"])["accuracy"]
    table = grouped.agg(["mean", "std", "size"]).reset_index()
    return table.rename(columns={"mean": "accuracy", "std": "accuracy_sd", "size": "n_seeds"})


def plot_separation(table: pd.DataFrame, path, *, steps: dict[str, pd.DataFrame]) -> None:
    """Share of examples learned by each step, clean (solid) and noisy (dashed), one colour per run."""
    with figure(path) as ax:
        for row in table.itertuples():
            s = steps[row.run]
            grid = np.unique(s["learned_step"].dropna())
            for noisy, style in ((False, "-"), (True, "--")):
                learned = s.loc[s["is_noisy"] == noisy, "learned_step"]
                share = [(learned <= g).mean() for g in grid]
                label = f"r = {row.rank}, {'noisy' if noisy else 'clean'}"
                ax.plot(grid, share, style, color=f"C{row.Index}", label=label)
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("share learned (against the trained label)")
        ax.legend(fontsize=7)

"""RACT end to end and ``loradyn detect``: configuration, K-fold confident learning against cleanlab called directly,
a tiny real RACT run through detection, retraining, resuming and its page, and bad input that writes nothing."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from cleanlab.filter import find_label_issues
from cleanlab.rank import get_label_quality_scores
from test_noisy import _write_run
from typer.testing import CliRunner

from loradyn.cli import app
from loradyn.errors import DataError
from loradyn.experiments.kfold import assemble_oof, fold_dirs
from loradyn.experiments.ract_config import RactConfig, load_ract_config
from loradyn.experiments.ract_rounds import run_ract
from loradyn.noisy.memorisation import memorisation_curve, separation
from loradyn.report.paper import STUDY2
from loradyn.report.ract import ract_page
from loradyn.store import read_dynamics
from loradyn.train.config import RunConfig

runner = CliRunner()

#: The second study's setting at the smallest size that trains: 64 AG News items, 30% symmetric noise.
TINY = dict(
    model="minilm",
    dataset="ag-news",
    n_bulk=64,
    n_validation=64,
    max_length=48,
    epochs=2,
    batch_size=16,
    lr=1e-2,  # far above the paper's, so that 8 steps move the loss
    probe_every=4,  # step 0, the epoch ends (4 and 8): the second half of training has two probes
    noise_rate=0.3,
)


def _yaml(path: Path, **values) -> Path:
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return path


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# --------------------------------------------------------------------------------------------- configuration
def test_ract_config_reads_run_fields_and_ract_fields(tmp_path, data_dir):
    path = _yaml(tmp_path / "r.yaml", **TINY, data_dir=str(data_dir), high_rank=8, grid={"seed": [1, 2]})
    config = load_ract_config(path, ["noise_rate=0.2", "threshold=gmm"])
    assert (config.low_rank, config.high_rank, config.retrain, config.threshold) == (4, 8, 8, "gmm")
    assert config.run.n_bulk == 64 and config.run.lr == 1e-2 and config.run.noise_rate == 0.2
    assert [(c.name, c.config.seed, c.config.noise_rate) for c in config.cells()] == [
        ("noise0.2-seed1", 1, 0.2),
        ("noise0.2-seed2", 2, 0.2),
    ]
    grid = RactConfig(run=RunConfig(noise_rate=0.3), grid={"noise_rate": [0.0, 0.4], "seed": [7]})
    assert [c.name for c in grid.cells()] == ["noise0-seed7", "noise0.4-seed7"]
    assert "rank" not in config.to_dict() and config.to_dict()["high_rank"] == 8


def test_the_rank_curve_crosses_its_ranks_rates_and_seeds(tmp_path):
    grid = {"noise_rate": [0.3], "seed": [42, 123]}
    curve = {"rank": [1, 8], "noise_rate": [0.0, 0.4]}
    cells = load_ract_config(_yaml(tmp_path / "a.yaml", **TINY, grid=grid, rank_curve=curve)).curve_cells()
    assert [(rate, rank, c.seed, c.noise_rate) for rate, rank, c in cells] == [
        (rate, rank, seed, rate) for rate in (0.0, 0.4) for rank in (1, 8) for seed in (42, 123)
    ]  # the grid's seeds
    own = load_ract_config(_yaml(tmp_path / "b.yaml", **TINY, grid=grid, rank_curve={**curve, "seed": [7]}))
    assert {c.seed for _, _, c in own.curve_cells()} == {7} and len(own.curve_cells()) == 4  # its own seeds


def test_equal_ranks_are_a_clear_error(tmp_path):
    path = _yaml(tmp_path / "r.yaml", **TINY, low_rank=16, high_rank=16)
    with pytest.raises(DataError) as err:
        load_ract_config(path)
    line = path.read_text().splitlines().index("high_rank: 16") + 1
    assert str(err.value).startswith(f"{path}:{line}: field 'high_rank': low_rank and high_rank are both 16")
    assert "low_rank: 4 and high_rank: 16" in err.value.fix
    out = tmp_path / "out"
    result = runner.invoke(app, ["ract", str(path), "--out", str(out)])
    assert result.exit_code == 2 and "low_rank and high_rank are both 16" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"rank": 8}, r":\d+: field 'rank': RACT sets rank itself.*set low_rank and high_rank"),
        ({"low_rank": 16, "high_rank": 4}, "low_rank 16 is above high_rank 4.*swap them"),
        ({"threshold": "top"}, "field 'threshold': got 'top'. Fix: use one of known_rate, gmm, trusted"),
        ({"threshold": "trusted"}, "threshold: trusted and trusted_size go together"),
        (
            {"threshold": "trusted", "trusted_size": 10, "grid": {"noise_rate": [0.0, 0.3]}},
            "noise_rate 0 has no noisy item",
        ),
        ({"noise_rate": 0.0}, "every noise_rate is 0: there is no noise to detect"),
        ({"method": "full"}, "method 'full' has no rank"),
        ({"grid": {"rank": [4, 8]}}, r"grid over rank\. Fix: grid over noise_rate and seed only"),
        ({"grid": {"noise_rate": [0.1, 1.5]}}, "noise_rate must be in"),
        ({"window": [0.9, 0.5]}, "field 'window': window must be"),
        ({"epochs": 0}, r":\d+: field 'epochs': epochs must be positive"),
        ({"learning_rate": 0.1}, r":\d+: field 'learning_rate': unknown field.*RACT's: low_rank"),
        ({"rank_curve": {"rank": [1, 4]}}, r"field 'rank_curve': expected a mapping of rank, noise_rate"),
        ({"rank_curve": {"rank": [1, 1], "noise_rate": [0.2]}}, "rank_curve rank must be a list of distinct values"),
        ({"rank_curve": {"rank": [0, 4], "noise_rate": [0.2]}}, "ranks must be positive integers"),
        ({"rank_curve": {"rank": [4], "noise_rate": [1.2]}}, r"noise rates must lie in \[0, 1\)"),
        ({"rank_curve": {"rank": [4], "noise_rate": [0.2], "seed": [-1]}}, "seeds must be non-negative integers"),
        ({"rank_curve": {"rank": [4], "noise_rate": [0.2], "epochs": [3]}}, "expected a mapping of rank"),
    ],
)
def test_bad_ract_configs_name_the_field_and_the_fix(tmp_path, values, message):
    with pytest.raises(DataError, match=message):
        load_ract_config(_yaml(tmp_path / "r.yaml", **{**TINY, **values}))


# ------------------------------------------------------------------------------------- detect: bad input
def _cli(args):
    return runner.invoke(app, args, env={"COLUMNS": "200"})


def test_detect_refuses_runs_over_different_examples_and_writes_nothing(tmp_path):
    low = _write_run(tmp_path / "low", rank=4)
    high = _write_run(tmp_path / "high", rank=16, n_tracked=80)
    out = tmp_path / "out"
    result = _cli(["detect", str(low), str(high), "--out", str(out)])
    assert result.exit_code == 2
    assert "cover different examples: 10 only in the first" in result.stderr
    assert "Fix: compare runs that differ only in rank" in result.stderr
    assert not out.exists()


def test_detect_refuses_runs_with_different_noisy_labels_and_writes_nothing(tmp_path):
    low, high = _write_run(tmp_path / "low", rank=4), _write_run(tmp_path / "high", rank=16)
    for name in ("examples.parquet", "dynamics.parquet"):  # as if high read another copy of the data (data_dir)
        frame = pd.read_parquet(high / name)
        flip = frame["example_id"].isin(["item-0005", "item-0007"]) & (frame.get("target", "noisy") == "noisy")
        frame.loc[flip, "label"] = (frame.loc[flip, "label"] + 1) % 3
        frame.to_parquet(high / name, index=False)
    out = tmp_path / "out"
    result = _cli(["detect", str(low), str(high), "--out", str(out)])
    assert result.exit_code == 2 and "trained on different noisy labels for 2 example(s)" in result.stderr
    assert "Fix: compare runs with the same noise_rate, noise_kind and noise_seed" in result.stderr
    assert not out.exists()


def test_detect_refuses_a_trusted_subset_without_noisy_items(tmp_path):
    run = _write_run(tmp_path / "run", rank=4)
    examples = pd.read_parquet(run / "examples.parquet")
    clean = examples[(examples["split"] == "train") & examples["tracked"] & ~examples["is_noisy"]].head(5)
    trusted = clean[["example_id", "is_noisy"]].to_csv(tmp_path / "trusted.csv", index=False)
    assert trusted is None
    out = tmp_path / "out"
    result = _cli(["detect", str(run), "--out", str(out), "--trusted", str(tmp_path / "trusted.csv")])
    assert result.exit_code == 2
    assert "the trusted subset (5 items) has no noisy item" in result.stderr
    assert "Fix: include at least one known-noisy and one known-clean example" in result.stderr
    assert not out.exists()


def test_kfold_with_fewer_items_than_folds_writes_nothing(tmp_path, data_dir):
    run = _write_run(tmp_path / "run", rank=4)
    stored = json.loads((run / "run.json").read_text())
    stored["config"] = RunConfig(**{**TINY, "n_bulk": 12, "record_labels": "both", "data_dir": str(data_dir)}).to_dict()
    (run / "run.json").write_text(json.dumps(stored))
    before, out = _files(run), tmp_path / "out"
    result = _cli(["detect", str(run), "--out", str(out), "--kfold", "5"])
    assert result.exit_code == 2
    assert re.search(
        r"5 folds need at least 5 training examples of every class; the smallest class has \d", result.stderr
    )
    assert "Fix: use fewer folds or more training examples (n_bulk)" in result.stderr
    assert not out.exists() and _files(run) == before
    ract = _yaml(tmp_path / "r.yaml", **{**TINY, "n_bulk": 12, "data_dir": str(data_dir)}, kfold=5)
    result = _cli(["ract", str(ract), "--out", str(tmp_path / "ract")])
    assert result.exit_code == 2 and "5 folds need at least 5 training examples" in result.stderr
    assert not (tmp_path / "ract").exists()


def test_detect_command_writes_detections_and_evaluation(tmp_path):
    runs = [_write_run(tmp_path / f"r{rank}-s{seed}", rank=rank, seed=seed) for seed in (0, 1) for rank in (4, 16)]
    out = tmp_path / "out"
    result = _cli(["detect", *map(str, runs), "--out", str(out), "--trusted-size", "30", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    names = {"detections.parquet", "evaluation.parquet", "evaluation_conditions.parquet", "evaluation.json"}
    assert {Path(p).name for p in payload["written"]} == names | {"evaluation_categories.parquet"}
    ract = [r for r in payload["conditions"] if r["detector"] == "rank_discrepancy" and r["threshold"] == "known_rate"]
    assert len(ract) == 1 and ract[0]["n_seeds"] == 2 and ract[0]["f1_mean"] > 0.8
    thresholds = {r["threshold"] for r in payload["conditions"]}
    assert thresholds == {"known_rate", "gmm", "trusted", "own"}
    detections = pd.read_parquet(out / "detections.parquet")
    assert len(detections[detections["detector"] == "rank_discrepancy"]) == 2 * 90
    table = _cli(["detect", *map(str, runs[:2]), "--out", str(tmp_path / "two"), "--detectors", "rank_discrepancy"])
    assert table.exit_code == 0 and "rank_discrepancy r4|r16" in table.stdout
    assert _cli(["detect", str(runs[0]), "--out", str(out), "--window", "0.5"]).exit_code == 2


# -------------------------------------------------------------------------------------- a tiny real RACT
@pytest.fixture(scope="module")
def tiny_ract(tmp_path_factory, data_dir):
    """RACT at 64 items, at 0% and 30% noise: six tiny trainings (the oracle serves both settings, and at 0% the
    rank-16 run is the oracle and nothing is flagged, so nothing is retrained)."""
    root = tmp_path_factory.mktemp("ract")
    path = _yaml(root / "tiny.yaml", **TINY, data_dir=str(data_dir), grid={"noise_rate": [0.0, 0.3]})
    lines: list[str] = []
    summary = run_ract(load_ract_config(path), root / "out", log=lines.append)
    return root, path, summary, lines


def test_ract_trains_every_step_and_retrains_without_the_flagged(tiny_ract):
    root, _, summary, lines = tiny_ract
    out = root / "out"
    clean, noisy = summary["settings"]
    assert (clean["setting"], noisy["setting"]) == ("noise0-seed42", "noise0.3-seed42")
    where = {role: Path(r["dir"]).relative_to(out).as_posix() for role, r in noisy["runs"].items()}
    assert where == {
        "low": "noise0.3-seed42/low-r4",
        "high": "noise0.3-seed42/high-r16",
        "noisy": "noise0.3-seed42/high-r16",  # the retrain rank is the high rank: one run
        "removed": "noise0.3-seed42/removed-r16",
        "downweighted": "noise0.3-seed42/downweighted-r16",
        "oracle": "oracle-seed42",
    }
    shared = {role: Path(r["dir"]).relative_to(out).as_posix() for role, r in clean["runs"].items()}
    assert shared == {"low": "noise0-seed42/low-r4", **{r: "oracle-seed42" for r in where if r != "low"}}
    # oracle, low and high at 30%, removed, down-weighted, low at 0%: every other step shares a run
    assert sum("trained" in line for line in lines) == 6

    stored = {role: json.loads((Path(r["dir"]) / "run.json").read_text()) for role, r in noisy["runs"].items()}
    for role, run in stored.items():
        assert run["status"] == "complete"
        assert noisy[f"{role}_accuracy"] == run["final"]["val_accuracy"]
        assert run["config"]["rank"] == (4 if role == "low" else 16)
    assert stored["oracle"]["config"]["noise_rate"] == 0 and stored["oracle"]["data"]["n_noisy"] == 0
    assert stored["high"]["config"]["record_labels"] == "both" and stored["high"]["data"]["n_noisy"] == 19

    detections = pd.read_parquet(out / "detections.parquet")
    at = detections[(detections["noise_rate"] == 0.3) & (detections["detector"] == "rank_discrepancy")]
    flagged = sorted(at.loc[at["flag_known_rate"], "example_id"])
    assert noisy["n_flagged"] == len(flagged) == round(0.3 * 64)
    assert stored["removed"]["config"]["exclude_ids"] == flagged
    assert stored["removed"]["data"]["n_train"] == 64 - len(flagged)
    examples = pd.read_parquet(Path(noisy["runs"]["downweighted"]["dir"]) / "examples.parquet")
    weights = examples[examples["split"] == "train"].set_index("example_id")["weight"]
    assert (weights[flagged] == 0.1).all() and (weights.drop(flagged) == 1).all()
    assert noisy["n_flagged_noisy"] == int(at.set_index("example_id").loc[flagged, "is_noisy"].sum())
    evaluation = pd.read_parquet(out / "evaluation.parquet").query("noise_rate == 0.3")
    ours = evaluation[(evaluation["detector"] == "rank_discrepancy") & (evaluation["threshold"] == "known_rate")]
    assert noisy["f1"] == pytest.approx(ours["f1"].item())
    baseline = evaluation[(evaluation["detector"] == "disagreement") & (evaluation["threshold"] == "own")]
    assert noisy["baseline_f1"] == pytest.approx(baseline["f1"].max())
    assert set(detections["detector"]) == {
        "rank_discrepancy",
        "small_loss",
        "final_loss",
        "aum",
        "datamap_confidence",
        "forgetting",
        "disagreement",
    }
    # Without noise there is nothing to find: nothing flagged at the known rate, and no recall or F1 to measure.
    assert clean["n_noisy"] == clean["n_flagged"] == 0 and clean["f1"] is None and clean["recall"] is None
    assert clean["removed_accuracy"] == clean["noisy_accuracy"] == clean["oracle_accuracy"]
    assert [r["noise_rate"] for r in summary["accuracy"]] == [0.0, 0.3]


def test_kfold_probabilities_and_confident_learning_equal_cleanlab(tiny_ract, tmp_path):
    summary = tiny_ract[2]
    noisy = tmp_path / "high-r16"  # a copy: the folds go inside the run directory
    shutil.copytree(summary["settings"][1]["runs"]["noisy"]["dir"], noisy)
    result = _cli(["detect", str(noisy), "--kfold", "2", "--out", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    # the folds trained as a sweep's runs do: in the local executor's workers, their logs beside the results
    assert sorted(p.name for p in (tmp_path / "out" / ".logs").iterdir()) == [
        "high-r16__kfold-2__fold-0.log",
        "high-r16__kfold-2__fold-1.log",
    ]
    finished = sorted(line.split()[1] for line in result.stderr.splitlines() if line.startswith("detect: "))
    assert finished == ["high-r16/kfold-2/fold-0", "high-r16/kfold-2/fold-1"]
    oof = pd.read_parquet(noisy / "oof_probs.parquet")
    examples = pd.read_parquet(noisy / "examples.parquet")
    train = examples[examples["split"] == "train"].set_index("example_id")
    assert sorted(oof["example_id"]) == sorted(train.index)  # each training example held out exactly once
    np.testing.assert_array_equal(oof["label"], train.loc[oof["example_id"], "label"])
    for fold, folder in enumerate(fold_dirs(noisy, 2)):
        run = json.loads((folder / "run.json").read_text())
        assert (run["config"]["folds"], run["config"]["fold"], run["config"]["record_probs"]) == (2, fold, True)
        probes = read_dynamics(folder, mode="probe")
        final = probes[probes["step"] == probes["step"].max()].drop_duplicates("example_id").set_index("example_id")
        mine = oof[oof["fold"] == fold].set_index("example_id")
        assert set(final.index) == set(mine.index) and run["data"]["n_held_out"] == len(mine)
        np.testing.assert_array_equal(np.stack(final.loc[mine.index, "probs"]), np.stack(mine["probs"]))

    probs, labels = np.stack(oof["probs"]).astype(float), oof["label"].to_numpy()
    detections = pd.read_parquet(tmp_path / "out" / "detections.parquet")
    cl = detections[detections["detector"] == "confident_learning"].set_index("example_id").loc[oof["example_id"]]
    np.testing.assert_array_equal(cl["flag_own"].to_numpy(dtype=bool), find_label_issues(labels, probs))
    np.testing.assert_allclose(cl["score"], 1 - get_label_quality_scores(labels, probs))
    one_fold = r"the folds hold out 3\d example\(s\) \(3\d distinct\), not each of the run's 64 training examples"
    with pytest.raises(DataError, match=one_fold):
        assemble_oof(fold_dirs(noisy, 2)[:1], noisy / "examples.parquet")
    examples.loc[examples["example_id"] == oof["example_id"][0], "label"] += 1
    examples.to_parquet(tmp_path / "other.parquet")
    with pytest.raises(DataError, match="the folds trained on other labels than the run"):
        assemble_oof(fold_dirs(noisy, 2), tmp_path / "other.parquet")
    stamps = [(f / "run.json").stat().st_mtime_ns for f in fold_dirs(noisy, 2)]
    again = _cli(["detect", str(noisy), "--kfold", "2", "--out", str(tmp_path / "again"), "--quiet"])
    assert again.exit_code == 0 and [(f / "run.json").stat().st_mtime_ns for f in fold_dirs(noisy, 2)] == stamps


def test_ract_resumes_without_training_and_the_cli_writes_its_page(tiny_ract, tmp_path):
    root, path, summary, _ = tiny_ract
    out = root / "out"
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("run.json")}
    lines: list[str] = []
    again = run_ract(load_ract_config(path), out, log=lines.append)
    assert lines and all("trained" not in line for line in lines)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("run.json")} == stamps
    assert again["settings"] == summary["settings"]

    page_path = tmp_path / "ract.md"
    result = _cli(["ract", str(path), "--out", str(out), "--report", str(page_path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["settings"] == summary["settings"] and str(page_path) in payload["written"]
    page = page_path.read_text()
    assert page.startswith("# RACT and the noisy-label detectors, side by side\n\nMade by `loradyn ")
    clean, noisy = summary["settings"]
    assert f"| 30% | 1 | 19 ({noisy['n_flagged_noisy']} noisy) | {noisy['low_accuracy']:.3f} |" in page
    assert f"| 0% | 1 | 0 (0 noisy) | {clean['low_accuracy']:.3f} | {clean['oracle_accuracy']:.3f} |" in page
    assert f"| rank discrepancy detection F1 | {noisy['f1']:.3f} | 0.911 |" in page
    assert f"| clean-test accuracy after RACT, rank 16, removed | {noisy['removed_accuracy']:.3f} | 0.9146 |" in page
    beats = "holds" if noisy["f1"] > noisy["baseline_f1"] else "does NOT hold"
    assert f"the better of the runs) in F1: {beats} ({noisy['f1']:.3f} vs {noisy['baseline_f1']:.3f}" in page
    assert "At 0% noise there is nothing to detect: RACT flags 0 clean example(s)" in page
    for detector in ("aum (r16)", "forgetting (r4)", "rank_discrepancy (r4 vs r16)"):
        assert f"| {detector} |" in page
    assert "Confident learning is left out" in page
    assert "training items: 64 here, 120,000 in the paper" in page and "model: minilm here" in page
    table = _cli(["ract", str(path), "--out", str(out), "--quiet"])
    assert table.exit_code == 0 and "RACT (ranks 4 and 16): clean-test accuracy" in table.stdout
    assert "rank discrepancy, flags by known_rate" in table.stdout
    other = _cli(["ract", str(path), "--out", str(out), "--set", "lr=0.02"])
    assert other.exit_code == 2 and "oracle-seed42: a run made with another configuration is there" in other.stderr
    assert "(it differs in lr)" in other.stderr and {p: p.stat().st_mtime_ns for p in out.rglob("run.json")} == stamps


def test_verdicts_follow_the_numbers(tiny_ract):
    _, _, summary, _ = tiny_ract
    made = dict(command="loradyn ract x", seconds=1.0)

    def with_numbers(f1, baseline, removed, noisy, low):
        changed = json.loads(json.dumps(summary))
        changed["detection"][1].update(f1_mean=f1, baseline_f1_mean=baseline)
        changed["accuracy"][1].update(removed_accuracy_mean=removed, noisy_accuracy_mean=noisy, low_accuracy_mean=low)
        return ract_page(changed, **made)

    good = with_numbers(0.95, 0.90, 0.92, 0.85, 0.88)
    assert "in F1: holds (0.950 vs 0.900" in good
    assert (
        "retraining rank 16 without the flagged examples beats training it on the noisy data: holds (0.920 vs 0.850"
        in good
    )
    assert "the rank-4 adapter resists the noise better than the rank-16 one (clean-test accuracy): holds" in good
    assert f"reaches the paper's {STUDY2['ract_detection_f1']:.1%} detection F1: holds (95.0% here)" in good
    assert "reaches the paper's 91.46%: holds (92.00% here" in good
    bad = with_numbers(0.85, 0.90, 0.80, 0.85, 0.80)
    assert "in F1: does NOT hold (0.850 vs 0.900" in bad
    assert "beats training it on the noisy data: does NOT hold (0.800 vs 0.850" in bad
    assert "detection F1: does NOT hold (85.0% here)" in bad


def test_ract_trains_through_the_sweep_executor(tmp_path, data_dir):
    """The command line's way: the steps train in worker processes of the local executor, two at a time, in two
    rounds (before detection, then the retrainings), and resume like any other; the low rank is retrained too
    (the paper's RACT) and claim (ii)'s rank curve trains the ranks no other step has."""
    curve = {"rank": [1, 4], "noise_rate": [0.3]}
    path = _yaml(tmp_path / "tiny.yaml", **TINY, data_dir=str(data_dir), retrain_low=True, rank_curve=curve, kfold=2)
    page = tmp_path / "page.md"
    result = _cli(["ract", str(path), "--out", str(tmp_path / "out"), "--jobs", "2", "--json", "--report", str(page)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    (setting,) = summary["settings"]
    assert setting["n_flagged"] == round(0.3 * 64) and setting["removed_accuracy"] is not None
    finished = [line for line in result.stderr.splitlines() if line.startswith("ract: ") and " complete in " in line]
    assert sorted(line.split()[1] for line in finished) == [
        "noise0.3-seed42/curve-r1",  # the rank curve's rank 1; its rank 4 is the low-rank run
        "noise0.3-seed42/downweighted-r16",
        "noise0.3-seed42/high-r16",
        "noise0.3-seed42/high-r16/kfold-2/fold-0",  # confident learning's folds, through the executor too
        "noise0.3-seed42/high-r16/kfold-2/fold-1",
        "noise0.3-seed42/low-r4",
        "noise0.3-seed42/removed-r16",
        "noise0.3-seed42/removed-r4",
        "oracle-seed42",
    ]
    assert all("kfold" in line for line in finished[-5:-3])  # after the runs they hold out from, before retraining
    retrained = {"removed-r16", "downweighted-r16", "removed-r4"}
    assert {line.split()[1].split("/")[1] for line in finished[-3:]} == retrained  # after detection
    low_removed = json.loads((tmp_path / "out" / "noise0.3-seed42" / "removed-r4" / "run.json").read_text())
    assert (
        low_removed["config"]["rank"] == 4 and setting["removed_low_accuracy"] == low_removed["final"]["val_accuracy"]
    )

    # claim (i): capacity of the adapted modules (minilm's query and value, 12 of them) against n
    assert summary["capacity"] == {
        "n_train": 64,
        "targets": ["query", "value"],
        "modules": 12,
        "dof": {"1": 12 * 767, "4": 12 * 4 * 764, "16": 12 * 16 * 752},
        "brackets": False,
    }
    # claims (i) and (iii): each epoch of the low and high runs, read again from their training pass here
    for role, rank in (("low", 4), ("high", 16)):
        folder = tmp_path / "out" / "noise0.3-seed42" / f"{role}-r{rank}"
        examples = pd.read_parquet(folder / "examples.parquet").query("split == 'train'")
        is_noisy = examples.set_index("example_id")["is_noisy"]
        dynamics = read_dynamics(folder, mode="inline")
        expected = memorisation_curve(dynamics, is_noisy)
        mine = [r for r in summary["memorisation"] if r["rank"] == rank]
        assert [r["epoch"] for r in mine] == [1, 2]
        np.testing.assert_allclose([r["noisy_fit"] for r in mine], expected["noisy_fit"])
        assert mine[0]["noisy_median_step"] == pytest.approx(
            separation(dynamics, is_noisy)["noisy_median_step"], nan_ok=True
        )
    # claim (ii): one seed, so SD is None; rank 4 is the low-rank run itself
    curve_rows = {r["rank"]: r for r in summary["rank_curve"]}
    assert set(curve_rows) == {1, 4} and curve_rows[4]["accuracy_mean"] == setting["low_accuracy"]
    text = page.read_text()
    for heading in ("Claim (i): memorisation", "Claim (ii): the optimal rank", "Claim (iii): temporal", "Claim (iv)"):
        assert f"## {heading}" in text
    assert "bracket the training set (r4: 36,672 < n = 64 < r16: 144,384): does NOT hold" in text
    assert "![Noisy labels fitted over training, per rank](page-memorisation.png)" in text
    assert (
        "Confident learning reads 2 held-out folds of the rank-16 run" in text
        and "| confident_learning (r16) |" in text
    )
    assert (tmp_path / "page-memorisation.png").read_bytes()[:4] == b"\x89PNG"
    assert "retraining rank 4 without the flagged examples beats training it on the noisy data" in text
    assert (tmp_path / "out" / ".logs").is_dir()  # each worker's output, as a sweep keeps it
    removed = json.loads((tmp_path / "out" / "noise0.3-seed42" / "removed-r16" / "run.json").read_text())
    detections = pd.read_parquet(tmp_path / "out" / "detections.parquet")
    flagged = detections[(detections["detector"] == "rank_discrepancy") & detections["flag_known_rate"]]
    assert removed["config"]["exclude_ids"] == sorted(flagged["example_id"])
    again = _cli(["ract", str(path), "--out", str(tmp_path / "out"), "--json"])
    assert again.exit_code == 0 and "complete in" not in again.stderr
    assert json.loads(again.stdout)["settings"] == summary["settings"]

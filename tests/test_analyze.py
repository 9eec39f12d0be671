"""`loradyn analyze` on synthetic runs with a known answer, on a real run, and on bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from typer.testing import CliRunner

from loradyn.analyze import analyze
from loradyn.cli import app
from loradyn.errors import DataError
from loradyn.synthetic import write_synthetic_run

runner = CliRunner()


def strict_json(text: str):
    def refuse(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    dirs = [
        write_synthetic_run(root / f"s{s}", seed=s, n_bulk=50, noise_rate=0.1, config={"model": "m"})
        for s in (42, 123, 456)
    ]
    return root, dirs, analyze(dirs, n_resamples=2000, workers=1)


def test_synthetic_runs_give_the_built_in_answer(seeds):
    _, dirs, result = seeds
    for d, run in zip(dirs, result["runs"], strict=True):
        metrics = pd.read_parquet(d / "metrics.parquet")
        truth = pd.read_parquet(d / "examples.parquet").set_index("example_id").loc[metrics["example_id"]]
        rho = run["spearman"]["aulc"]
        assert rho["estimate"] == pytest.approx(stats.spearmanr(metrics["aulc"], metrics["entropy"]).statistic)
        assert rho["low"] > 0.3  # built in: entropy slows learning
        assert strict_json((d / "stats.json").read_text())["spearman"]["aulc"] == rho
        # planted: un-learners and items trained on a wrong label are learned, then lost; nothing else is
        lost = (truth["planted_unlearning"] | truth["is_noisy"]).to_numpy()
        np.testing.assert_array_equal(metrics["learned_then_lost"], lost)
        np.testing.assert_array_equal(metrics["forgetting_events"], lost.astype(float))
        assert metrics.loc[lost, "first_learned"].isna().all() and metrics.loc[~lost, "first_learned"].notna().all()
        shares = run["unlearning"]["learned_then_lost"]
        assert shares["by_group"]["contested"]["share"] > shares["by_group"]["clean"]["share"]
        assert shares["chi2_test"]["pvalue"] < 0.01


def test_the_data_map_is_per_epoch_statistics_of_the_training_pass(seeds):
    _, dirs, _ = seeds
    metrics = pd.read_parquet(dirs[0] / "metrics.parquet").set_index("example_id")
    dynamics = pd.read_parquet(dirs[0] / "dynamics.parquet").query("mode == 'inline' and target == 'original'")
    per_epoch = dynamics.pivot(index="example_id", columns="epoch", values="p_gold").loc[metrics.index]
    np.testing.assert_allclose(metrics["confidence"], per_epoch.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(metrics["variability"], per_epoch.std(axis=1, ddof=0), rtol=1e-5)
    probes = pd.read_parquet(dirs[0] / "dynamics.parquet").query("mode == 'probe' and target == 'original'")
    np.testing.assert_allclose(
        metrics["probe_confidence"], probes.groupby("example_id")["p_gold"].mean().loc[metrics.index], rtol=1e-6
    )


def test_seeds_aggregate_as_the_first_study_does(seeds):
    _, _, result = seeds
    (condition,) = result["conditions"]
    runs = result["runs"]
    aulc = condition["spearman"]["aulc"]
    estimates = [r["spearman"]["aulc"]["estimate"] for r in runs]
    assert aulc["mean"] == pytest.approx(np.mean(estimates)) and aulc["sd"] == pytest.approx(np.std(estimates, ddof=1))
    assert aulc["ci_mean_of_seed_bounds"] == pytest.approx(
        [np.mean([r["spearman"]["aulc"][b] for r in runs]) for b in ("low", "high")]
    )
    per_seed = [r["unlearning"]["delta_loss_mean"]["contested"] for r in runs]
    assert condition["delta_loss_mean_by_category"]["contested"] == pytest.approx(np.mean(per_seed))


def test_the_family_is_every_test_of_every_run_and_lives_beside_the_runs(seeds, tmp_path):
    root, dirs, result = seeds
    family = strict_json((root / "analysis.json").read_text())
    assert family["runs"] == [d.name for d in dirs]
    pvalues = [t["pvalue"] for r in result["runs"] for t in r["tests"]]
    assert family["family"]["n_tests"] == len(pvalues) > 3 * 10
    np.testing.assert_allclose(
        [t["pvalue_holm"] for t in family["family"]["tests"]], multipletests(pvalues, method="holm")[1]
    )
    # a run's stats.json does not depend on which runs it was analysed with
    before = (dirs[0] / "stats.json").read_text()
    analyze([dirs[0]], n_resamples=2000, workers=1)
    assert (dirs[0] / "stats.json").read_text() == before
    assert strict_json((dirs[0] / "analysis.json").read_text())["runs"] == [dirs[0].name]
    # another family, or other options, do not silently replace what is there
    with pytest.raises(DataError, match=r"for other runs.*--force"):
        analyze(dirs[:2], n_resamples=2000, workers=1)
    with pytest.raises(DataError, match="with other options"):
        analyze([dirs[0]], n_resamples=500, workers=1)
    # a sweep that went on: the analysis of its first runs gives way to the analysis of all of them
    analyze(dirs[:2], out=tmp_path, n_resamples=2000, workers=1)
    analyze(dirs, out=tmp_path, n_resamples=2000, workers=1)
    assert strict_json((tmp_path / "analysis.json").read_text())["runs"] == [d.name for d in dirs]


def test_the_regression_uses_the_training_pass_map_with_robust_p_values(seeds):
    _, dirs, result = seeds
    regression = result["runs"][0]["hierarchical_regression_aulc"]
    assert regression["data_map"] == "training pass, per epoch" and 0 <= regression["pvalue_hc3"] <= 1
    metrics = pd.read_parquet(dirs[0] / "metrics.parquet")
    r2 = np.corrcoef(metrics["aulc"], metrics["probe_confidence"])[0, 1] ** 2
    assert regression["r2_base"] < 0.999 and r2 > 0  # not the probe map AULC is made of


def test_the_authors_regression_on_the_probe_map_is_nearly_circular(seeds):
    _, dirs, result = seeds
    regression = result["runs"][0]["hierarchical_regression_aulc_probe_map"]
    metrics = pd.read_parquet(dirs[0] / "metrics.parquet")
    design = np.column_stack([np.ones(len(metrics)), metrics[["probe_confidence", "probe_variability"]]])
    fitted = design @ np.linalg.lstsq(design, metrics["aulc"], rcond=None)[0]
    r2 = 1 - np.sum((metrics["aulc"] - fitted) ** 2) / np.sum((metrics["aulc"] - metrics["aulc"].mean()) ** 2)
    assert regression["r2_base"] == pytest.approx(r2) and regression["r2_base"] > 0.9
    assert "step 0 included" in regression["data_map"]


def test_the_authors_partial_correlation_is_on_threshold_learning_time(seeds):
    _, dirs, result = seeds
    metrics = pd.read_parquet(dirs[0] / "metrics.parquet")
    partial = result["runs"][0]["authors_partial"]
    learned = metrics.dropna(subset=["threshold_learning_time"])
    assert partial["n"] == len(learned) and partial["n_never"] == len(metrics) - len(learned) > 0
    time, entropy = learned["threshold_learning_time"], learned["entropy"]
    assert partial["spearman"]["estimate"] == pytest.approx(stats.spearmanr(time, entropy).statistic)
    votes = pd.read_parquet(dirs[0] / "examples.parquet").set_index("example_id").filter(like="votes_")
    skew = stats.skew(votes.loc[learned["example_id"]].to_numpy(dtype=float), axis=1)
    for name, covariate in (("majority_confidence", learned["majority_confidence"]), ("label_skewness", skew)):
        r_xy = stats.spearmanr(time, entropy).statistic  # the first-order formula the author's script 05 uses
        r_xz, r_yz = stats.spearmanr(time, covariate).statistic, stats.spearmanr(entropy, covariate).statistic
        expected = (r_xy - r_xz * r_yz) / np.sqrt((1 - r_xz**2) * (1 - r_yz**2))
        assert partial["partial"][name]["estimate"] == pytest.approx(expected)


def test_analyze_a_real_run(data_dir, tmp_path):
    from test_train import small

    from loradyn.train.runner import train

    out = tmp_path / "real"
    train(small(data_dir, epochs=1, record_probs=True), out, show_progress=False)
    result = runner.invoke(app, ["analyze", str(out), "--n-resamples", "500", "--json"])
    assert result.exit_code == 0, result.output
    run = strict_json(result.stdout)["runs"][0]
    metrics = pd.read_parquet(out / "metrics.parquet")
    assert len(metrics) == run["n_items"] == 32
    assert metrics["entropy"].notna().all() and metrics["aum"].notna().all()
    assert set(run["controls"]["partial_one_length"]) == {"premise_words", "hypothesis_words", "total_words"}
    assert run["controls"]["partial_strict"]["controls"][-2:] == ["majority_confidence", "gold label"]
    calibration = run["calibration_by_category"]
    assert sum(c["n"] for c in calibration.values()) == 32
    assert all(0 <= c["ece"] <= 1 and 0 <= c["prediction_entropy"] <= np.log(3) + 1e-9 for c in calibration.values())
    table = runner.invoke(app, ["analyze", str(out), "--n-resamples", "500"], env={"COLUMNS": "40"})
    assert table.exit_code == 0 and "Spearman rho" in table.stdout
    # each file written on a line of its own, whole however narrow the terminal
    assert f"written: {out / 'analysis.json'}" in table.stdout.splitlines()


def _edit(run_dir, edit):
    path = run_dir / "dynamics.parquet"
    edit(pd.read_parquet(path)).to_parquet(path, index=False)


def test_missing_columns(tmp_path):
    d = write_synthetic_run(tmp_path / "r", n_items=20, n_checkpoints=4)
    _edit(d, lambda f: f.drop(columns="margin"))
    with pytest.raises(DataError, match=r"missing columns \['margin'\]"):
        analyze([d], n_resamples=100)


def test_a_single_checkpoint(tmp_path):
    d = write_synthetic_run(tmp_path / "r", n_items=20, n_checkpoints=4)
    _edit(d, lambda f: f[(f["mode"] == "inline") | (f["checkpoint"] == 0)])
    with pytest.raises(DataError, match="only 1 probe checkpoint"):
        analyze([d], n_resamples=100)


def test_nan_cells_and_missing_rows_are_left_out_and_counted(tmp_path):
    d = write_synthetic_run(tmp_path / "r", n_items=30, n_checkpoints=6)
    probe = "mode == 'probe'"

    def poison(frame):
        frame.loc[frame.eval(f"{probe} and checkpoint == 3 and example_id == 'item-00001'"), "loss"] = np.nan
        frame.loc[frame.eval(f"{probe} and checkpoint == 4 and example_id == 'item-00002'"), "loss"] = np.inf
        return frame[~frame.eval(f"{probe} and checkpoint == 5 and example_id == 'item-00003'")]  # the last probe

    _edit(d, poison)
    (run,) = analyze([d], n_resamples=100)["runs"]
    assert (run["dropped_rows"], run["missing_cells"]) == (2, 3)
    metrics = pd.read_parquet(d / "metrics.parquet").set_index("example_id")
    dynamics = pd.read_parquet(d / "dynamics.parquet").query(probe).set_index(["example_id", "checkpoint"])["loss"]
    assert metrics.loc["item-00001", "aulc"] == pytest.approx(dynamics.loc["item-00001"].drop(3).mean(), rel=1e-6)
    assert np.isnan(metrics.loc["item-00003", "final_loss"]) and np.isnan(metrics.loc["item-00003", "delta_loss"])
    assert run["spearman"]["delta_loss"]["n_dropped"] == 1 and run["spearman"]["aulc"]["n_dropped"] == 0


def test_mismatched_ids(tmp_path):
    d = write_synthetic_run(tmp_path / "r", n_items=20, n_checkpoints=4)
    examples = pd.read_parquet(d / "examples.parquet")
    examples.iloc[2:].to_parquet(d / "examples.parquet", index=False)
    with pytest.raises(DataError, match="2 example ids in the dynamics have no annotations"):
        analyze([d], n_resamples=100)


def test_not_a_run_directory(tmp_path):
    result = runner.invoke(app, ["analyze", str(tmp_path)])
    assert result.exit_code == 2 and "not a run directory" in result.stderr


def test_runs_tracking_different_items_are_not_aggregated_as_seeds(tmp_path):
    dirs = [write_synthetic_run(tmp_path / f"s{s}", n_items=20 + s, seed=s, config={"model": "m"}) for s in (0, 1)]
    with pytest.raises(DataError, match="track different examples"):
        analyze(dirs, n_resamples=100, workers=1)
    assert not any((d / "stats.json").exists() for d in dirs)

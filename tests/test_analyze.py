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


def test_synthetic_runs_give_the_built_in_answer_and_seeds_aggregate(tmp_path):
    dirs = [write_synthetic_run(tmp_path / f"s{s}", seed=s, n_bulk=50, config={"model": "m"}) for s in (42, 123, 456)]
    result = analyze(dirs, n_resamples=2000)
    for d, run in zip(dirs, result["runs"], strict=True):
        metrics = pd.read_parquet(d / "metrics.parquet")
        assert {"example_id", "aulc", "entropy", "delta_loss", "aum", "region", "forgetting_events"} <= set(metrics)
        inline = pd.read_parquet(d / "dynamics.parquet").query("mode == 'inline'").groupby("example_id")["p_gold"]
        confidence = metrics.set_index("example_id")["inline_confidence"]
        np.testing.assert_allclose(confidence, inline.mean().loc[confidence.index], rtol=1e-6)
        rho = run["spearman"]["aulc"]
        assert rho["estimate"] == pytest.approx(stats.spearmanr(metrics["aulc"], metrics["entropy"]).statistic)
        assert rho["low"] > 0.3  # built in: entropy slows learning
        assert json.loads((d / "stats.json").read_text())["spearman"]["aulc"] == rho
        shares = run["unlearning_share_by_category"]
        assert shares["contested"] >= shares["clean"]
    pvalues = [r["spearman"]["aulc"]["pvalue"] for r in result["runs"]]
    holm = multipletests(pvalues, method="holm")[1]
    assert [r["spearman"]["aulc"]["pvalue_holm"] for r in result["runs"]] == pytest.approx(holm)
    (condition,) = result["conditions"]
    estimates = [r["spearman"]["aulc"]["estimate"] for r in result["runs"]]
    assert condition["spearman"]["aulc"]["mean"] == pytest.approx(np.mean(estimates))
    assert condition["spearman"]["aulc"]["sd"] == pytest.approx(np.std(estimates, ddof=1))


def test_analyze_a_real_run(data_dir, tmp_path):
    from test_train import small

    from loradyn.train.runner import train

    out = tmp_path / "real"
    train(small(data_dir, epochs=1, record_probs=True), out, show_progress=False)
    result = runner.invoke(app, ["analyze", str(out), "--n-resamples", "500", "--json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)["runs"][0]
    metrics = pd.read_parquet(out / "metrics.parquet")
    assert len(metrics) == run["n_items"] == 32
    assert metrics["entropy"].notna().all() and metrics["aum"].notna().all()
    assert "partial_spearman_aulc" in run and set(run["spearman_aulc_within_label"]) <= {"0", "1", "2"}
    calibration = run["calibration_by_category"]
    assert sum(c["n"] for c in calibration.values()) == 32
    assert all(0 <= c["ece"] <= 1 and 0 <= c["prediction_entropy"] <= np.log(3) + 1e-9 for c in calibration.values())
    table = runner.invoke(app, ["analyze", str(out), "--n-resamples", "200"])
    assert table.exit_code == 0 and "Spearman rho with annotation entropy" in table.stdout


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


def test_nan_losses_are_dropped_and_counted(tmp_path):
    d = write_synthetic_run(tmp_path / "r", n_items=30, n_checkpoints=6)

    def poison(frame):
        frame.loc[(frame["mode"] == "probe") & (frame["checkpoint"] == 3), "loss"] = np.nan
        frame.loc[(frame["mode"] == "probe") & (frame["checkpoint"] == 4), "loss"] = np.inf
        return frame

    _edit(d, poison)
    (run,) = analyze([d], n_resamples=100)["runs"]
    assert run["dropped_rows"] == 60
    assert np.isfinite(pd.read_parquet(d / "metrics.parquet")["aulc"]).all()


def test_mismatched_ids(tmp_path):
    d = write_synthetic_run(tmp_path / "r", n_items=20, n_checkpoints=4)
    examples = pd.read_parquet(d / "examples.parquet")
    examples.iloc[2:].to_parquet(d / "examples.parquet", index=False)
    with pytest.raises(DataError, match="2 example ids in the dynamics have no annotations"):
        analyze([d], n_resamples=100)


def test_not_a_run_directory(tmp_path):
    result = runner.invoke(app, ["analyze", str(tmp_path)])
    assert result.exit_code == 2 and "not a run directory" in result.stderr

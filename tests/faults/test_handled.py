"""Cases of the catalogue whose right answer is not a refusal: the command succeeds and says what it could not do.

A `Case` asserts a clean error (exit 2, one line, nothing written); these inputs used to mislead instead of failing,
so each test asserts the honest output."""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.testing import CliRunner

from loradyn.cli import app
from loradyn.errors import DataError
from loradyn.synthetic import write_synthetic_run

runner = CliRunner()
CONFIG = {"model": "roberta-base", "noise_scope": "all"}


def test_a_report_of_an_unfinished_sweep_says_k_of_n_planned_runs(tmp_path):
    """It reported the finished runs as if they were all."""
    write_synthetic_run(tmp_path / "sw" / "a__s1", n_items=24, n_checkpoints=4, epochs=2, config=CONFIG)
    plan = {"name": "sw", "runs": [{"name": "a__s1"}, {"name": "a__s2"}, {"name": "a__s3"}]}
    (tmp_path / "sw" / "sweep.json").write_text(json.dumps(plan))
    result = runner.invoke(app, ["report", str(tmp_path / "sw"), "--n-resamples", "20", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "**1 of the 3 planned runs** (the sweep's `sweep.json`) are complete" in (
        tmp_path / "sw" / "report.md"
    ).read_text(encoding="utf-8")


def test_an_analysis_of_two_items_skips_what_needs_more_and_says_so(tmp_path):
    """'too few for 1 covariates' stopped the whole analysis."""
    run = write_synthetic_run(tmp_path / "r", n_items=2, n_checkpoints=4, epochs=2, config=CONFIG)
    result = runner.invoke(app, ["analyze", str(run), "--n-resamples", "20"])
    assert result.exit_code == 0, result.output
    stats = json.loads((run / "stats.json").read_text(encoding="utf-8"))
    assert "items: too few for a partial correlation (it needs" in json.dumps(stats)


def test_a_finished_step_is_reused_when_the_data_folder_is_named_by_another_path(tmp_path, data_dir):
    """A RACT or K-fold step finished with ``--data-dir /work/shared/data`` was refused when the same command named
    ``../shared/data``: one folder by another path is the same data; another folder is not."""
    from loradyn.experiments.steps import check_step
    from loradyn.train.config import RunConfig

    run = write_synthetic_run(tmp_path / "r", n_items=24, n_checkpoints=4, epochs=2, config=CONFIG)
    stored = json.loads((run / "run.json").read_text())
    config = RunConfig(**{**stored["config"], "data_dir": str(data_dir)})
    (tmp_path / "link").symlink_to(data_dir)
    (run / "run.json").write_text(
        json.dumps({**stored, "config": {**config.to_dict(), "data_dir": str(tmp_path / "link")}})
    )
    check_step(config, run)  # no error: the same run
    with pytest.raises(DataError, match="it differs in lr"):
        check_step(dataclasses.replace(config, lr=1e-3), run)
    with pytest.raises(DataError, match="it differs in data_dir"):
        check_step(dataclasses.replace(config, data_dir=str(tmp_path)), run)

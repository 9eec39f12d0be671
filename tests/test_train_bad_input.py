"""Bad training input stops before any training, with a clear message, and leaves no run directory."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from loradyn.cli import app

runner = CliRunner()
SMOKE = "configs/smoke.yaml"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model=no-such-model-anywhere"], "unknown model 'no-such-model-anywhere'"),
        (["targets=[q_proj, v_proj]"], "target modules ['q_proj', 'v_proj'] are not in the model"),
        (["rank=0"], "rank must be a positive integer"),
        (["rank=-4"], "rank must be a positive integer"),
        (["method=adalora"], "method must be one of lora, ia3, full"),
        (["record_labels=noisy"], "needs noise_rate > 0"),
        (["method=ia3", "alpha=8"], "alpha applies to LoRA only"),
        (["precision=fp16"], "fp16' needs a CUDA device"),
        (["tracked_ids=[4718146904.jpg#2r1n, not-an-id]"], "field 'tracked_ids': 2 id(s) are not training examples"),
        (["n_tracked=5000"], "n_tracked=5000 but only 512 are available"),
        (["batch_size=3", "grad_accum=4"], "grad_accum 4 exceeds batch_size 3"),
        (["colour=blue"], "unknown field(s) colour"),
    ],
)
def test_bad_training_input(data_dir, tmp_path, overrides, message):
    out = tmp_path / "run"
    args = ["train", SMOKE, "--out", str(out), "--data-dir", str(data_dir), "--quiet"]
    for item in overrides:
        args += ["--set", item]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert not out.exists()


def test_missing_and_malformed_config(tmp_path):
    result = runner.invoke(app, ["train", str(tmp_path / "none.yaml"), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "configuration file not found" in result.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: minilm\nrank: [4\n")
    result = runner.invoke(app, ["train", str(bad), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "bad.yaml:" in result.stderr and "malformed YAML" in result.stderr
    assert not (tmp_path / "run").exists()

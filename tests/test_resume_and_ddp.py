"""A killed run resumes to the dynamics an uninterrupted run gives; two data-parallel processes record what one
process records."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import yaml
from test_train import small

from loradyn.store import read_dynamics
from loradyn.train.runner import train


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns="run_id").sort_values(["mode", "checkpoint", "example_id"]).reset_index(drop=True)


def _write_config(path, config) -> None:
    path.write_text(yaml.safe_dump({k: v for k, v in config.to_dict().items() if v is not None}))


def test_kill_and_resume_gives_the_uninterrupted_dynamics(data_dir, tmp_path):
    config = small(data_dir, epochs=2, probe_every=1)
    reference = train(config, tmp_path / "reference", show_progress=False)
    _write_config(tmp_path / "run.yaml", config)
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "loradyn", "train", str(tmp_path / "run.yaml"), "--out", str(out), "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill it mid-run, a few checkpoints in
        try:
            progress = json.loads((out / "run.json").read_text())["progress"]
        except (FileNotFoundError, json.JSONDecodeError):
            progress = {"checkpoints": 0}
        if progress["checkpoints"] >= 4:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    interrupted = json.loads((out / "run.json").read_text())
    assert interrupted["status"] == "running"
    assert 4 <= interrupted["progress"]["checkpoints"] < reference["progress"]["checkpoints"]
    resumed = train(config, out, show_progress=False)
    assert resumed["status"] == "complete"
    assert resumed["progress"] == reference["progress"]
    # CPU BLAS kernels are not promised to be bit-reproducible (their reductions may depend on memory alignment),
    # so values are compared to float32 precision and predictions wherever the reference is not within a hair
    # of a tie.
    got, want = _sorted(read_dynamics(out)), _sorted(read_dynamics(tmp_path / "reference"))
    exact = ["example_id", "checkpoint", "step", "epoch", "mode", "target", "label"]
    pd.testing.assert_frame_equal(got[exact], want[exact])
    for column in ("loss", "p_gold", "margin"):
        np.testing.assert_allclose(got[column], want[column], rtol=1e-4, atol=1e-5, err_msg=column)
    clear = want["margin"].abs() > 1e-3
    assert (got["pred"][clear] == want["pred"][clear]).all()
    np.testing.assert_allclose(resumed["val_accuracy_per_epoch"], reference["val_accuracy_per_epoch"], atol=1 / 32)
    assert not (out / "state").exists()


def test_resume_refuses_a_changed_config_and_a_finished_run(data_dir, tmp_path):
    from loradyn.errors import DataError

    config = small(data_dir, epochs=1, n_bulk=16, n_tracked=16)
    train(config, tmp_path / "run", show_progress=False)
    with pytest.raises(DataError, match="already complete"):
        train(config, tmp_path / "run", show_progress=False)
    run_json = tmp_path / "run" / "run.json"
    payload = json.loads(run_json.read_text())
    payload["status"] = "running"
    run_json.write_text(json.dumps(payload))
    with pytest.raises(DataError, match="differs in rank"):
        train(small(data_dir, epochs=1, n_bulk=16, n_tracked=16, rank=8), tmp_path / "run", show_progress=False)


def test_two_processes_record_what_one_process_records(data_dir, tmp_path):
    config = small(data_dir, epochs=1, probe_every=2, disable_dropout=True, lora_dropout=0.0)
    single = train(config, tmp_path / "single", show_progress=False)
    _write_config(tmp_path / "run.yaml", config)
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    result = subprocess.run(
        [
            torchrun,
            "--standalone",  # a free port of its own: no clash with another run of the suite
            "--nproc_per_node",
            "2",
            "-m",
            "loradyn",
            "train",
            str(tmp_path / "run.yaml"),
            "--out",
            str(tmp_path / "ddp"),
            "--quiet",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    ddp = json.loads((tmp_path / "ddp" / "run.json").read_text())
    assert ddp["world_size"] == 2
    one, two = _sorted(read_dynamics(tmp_path / "single")), _sorted(read_dynamics(tmp_path / "ddp"))
    probes = two[two["mode"] == "probe"]
    assert (
        (probes.groupby("checkpoint")["example_id"].agg(["size", "nunique"]) == len(probes["example_id"].unique()))
        .all()
        .all()
    )
    exact = ["example_id", "checkpoint", "step", "mode", "label"]
    pd.testing.assert_frame_equal(one[exact], two[exact])
    clear = one["margin"].abs() > 1e-3  # away from a tie, the two runs predict the same class
    assert (one["pred"][clear] == two["pred"][clear]).all()
    for column in ("loss", "p_gold", "margin"):
        pd.testing.assert_series_equal(one[column], two[column], atol=2e-4, rtol=1e-3)
    np.testing.assert_allclose(ddp["val_accuracy_per_epoch"], single["val_accuracy_per_epoch"], atol=1 / 32)

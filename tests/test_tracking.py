"""Experiment tracking (``report_to``), as the HF Trainer spells it: TensorBoard and Weights & Biases (offline),
for real, checked against what the run itself recorded."""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pandas as pd
import pytest
from test_train import small

from loradyn.store import read_dynamics
from loradyn.train.runner import train

pytest.importorskip("tensorboard")
wandb = pytest.importorskip("wandb")


@pytest.fixture(scope="module")
def tracked_run(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "tracked"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WANDB_MODE", "offline")  # W&B writes its run locally; nothing leaves the machine
        mp.setenv("WANDB_SILENT", "true")
        config = small(data_dir, report_to=["tensorboard", "wandb"], class_weighted=False, epochs=2)
        return out, train(config, out, show_progress=False)


def _scalars(run_dir) -> dict[str, pd.Series]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = {p.parent for p in (run_dir / "tracking" / "loradyn").glob("events.out.tfevents.*")}
    acc = EventAccumulator(str(events))
    acc.Reload()
    return {tag: pd.Series({e.step: e.value for e in acc.Scalars(tag)}) for tag in acc.Tags()["scalars"]}


def test_tensorboard_gets_the_loss_learning_rate_and_accuracy_of_every_step(tracked_run):
    out, run = tracked_run
    scalars = _scalars(out)
    total = run["data"]["total_steps"]
    for tag in ("train/loss", "train/learning_rate", "train/accuracy"):
        assert scalars[tag].index.tolist() == list(range(1, total + 1)), tag
    # The loss of a step is the mean cross-entropy of its batch: the inline rows record each training example's
    # loss from the same forward pass (unweighted run, no dropout difference: the same logits).
    inline = read_dynamics(out, mode="inline")
    inline["correct"] = inline["pred"] == inline["label"]
    by_step = inline.groupby("step")
    np.testing.assert_allclose(scalars["train/loss"].to_numpy(), by_step["loss"].mean().to_numpy(), rtol=1e-4)
    np.testing.assert_allclose(scalars["train/accuracy"].to_numpy(), by_step["correct"].mean().to_numpy())
    # The learning rate: linear warm-up from 0 over int(0.06 T) steps, then max(0.1, cosine) (the study's).
    lr, warm = run["config"]["lr"], int(0.06 * total)
    expected = [
        lr * (t / warm if t < warm else max(0.1, 0.5 * (1 + math.cos(math.pi * (t - warm) / (total - warm)))))
        for t in range(total)
    ]
    np.testing.assert_allclose(scalars["train/learning_rate"].to_numpy(), expected, rtol=1e-6)
    epochs = scalars["eval/accuracy"]
    assert epochs.index.tolist() == [total // 2, total]
    np.testing.assert_allclose(epochs.to_numpy(), run["val_accuracy_per_epoch"], rtol=1e-6)


def _wandb_records(path):
    """The records of a W&B run log, read independently of wandb's writer: a 7-byte file header, then the
    LevelDB log format (32 KiB blocks of chunks, each with a 7-byte header: crc32, length, type; types 1 and 4
    end a record), each record a ``wandb_internal_pb2.Record``."""
    from wandb.proto import wandb_internal_pb2

    data, block, pos, buffer = path.read_bytes(), 32768, 7, b""
    assert data[:4] == b":W&B"
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:  # a block's tail too short for a header is padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        buffer += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(buffer)
            yield record
            buffer = b""


def test_wandb_offline_run_logs_the_same_steps(tracked_run):
    out, run = tracked_run
    (log,) = (out / "tracking" / "wandb").glob("offline-run-*/run-*.wandb")
    records = list(_wandb_records(log))
    history = pd.DataFrame(
        [
            {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in r.history.item}
            for r in records
            if r.HasField("history")
        ]
    ).set_index("_step")
    scalars = _scalars(out)
    for tag in ("train/loss", "train/learning_rate", "train/accuracy"):
        np.testing.assert_allclose(history[tag].to_numpy(), scalars[tag].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(history["eval/accuracy"].dropna().to_numpy(), run["val_accuracy_per_epoch"])
    (config,) = [r.config for r in records if r.HasField("config")]
    values = {item.key or "/".join(item.nested_key): item.value_json for item in config.update}
    assert json.loads(values["model"]) == "minilm" and "report_to" in values
    (header,) = [r.run for r in records if r.HasField("run")]
    assert header.display_name == out.name and header.project == "loradyn"


def test_trackers_are_off_by_default_and_checked(data_dir, tmp_path):
    assert small(data_dir).report_to is None
    with pytest.raises(ValueError, match="report_to takes tensorboard, wandb; got mlflow"):
        small(data_dir, report_to=["mlflow"])

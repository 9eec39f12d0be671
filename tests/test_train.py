"""The training engine on real models and real data, on a CPU: tiny slices, max length 64, one or two epochs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForSequenceClassification

from loradyn.models.registry import resolve_model
from loradyn.store import read_dynamics
from loradyn.train.config import RunConfig
from loradyn.train.recorder import example_stats
from loradyn.train.runner import Run, train

N_TRACKED, N_BULK = 32, 64


def small(data_dir, **changes) -> RunConfig:
    values = dict(
        model="minilm",
        method="lora",
        rank=4,
        n_bulk=N_BULK,
        n_tracked=N_TRACKED,
        n_validation=32,
        epochs=2,
        batch_size=16,
        max_length=64,
        probe_every=2,
        lr=1e-2,  # far above the paper's 2e-5, so that a dozen steps move the loss
        data_dir=str(data_dir),
    )
    values.update(changes)
    if values["method"] != "lora" and "rank" not in changes:  # a rank is LoRA's only
        del values["rank"]
    return RunConfig(**values)


@pytest.fixture(scope="module")
def lora_run(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "lora"
    return out, train(small(data_dir), out, show_progress=False)


def test_lora_run_records_every_tracked_item_at_every_checkpoint(lora_run):
    out, run = lora_run
    probes = read_dynamics(out, mode="probe")
    steps_per_epoch = math.ceil((N_BULK + N_TRACKED) / 16)
    # step 0, every 2 steps, and each epoch end (step 6 is both)
    expected_steps = sorted({0, *range(2, 2 * steps_per_epoch + 1, 2), steps_per_epoch, 2 * steps_per_epoch})
    assert run["progress"]["checkpoints"] == len(expected_steps)
    assert len(probes) == N_TRACKED * len(expected_steps)
    assert sorted(probes["step"].unique()) == expected_steps
    assert (probes.groupby("checkpoint")["example_id"].nunique() == N_TRACKED).all()
    by_step = probes.groupby("step")["loss"].mean()
    assert abs(by_step[0] - math.log(3)) < 0.3
    assert by_step.iloc[-1] < by_step[0] - 0.03
    inline = read_dynamics(out, mode="inline")
    assert len(inline) == (N_BULK + N_TRACKED) * 2
    assert inline.groupby("epoch")["example_id"].nunique().tolist() == [N_BULK + N_TRACKED] * 2
    assert run["status"] == "complete" and len(run["val_accuracy_per_epoch"]) == 2


def test_probe_values_match_an_independent_evaluation_of_the_saved_adapter(lora_run, data_dir):
    out, _ = lora_run
    probes = read_dynamics(out, mode="probe")
    last = probes[probes["checkpoint"] == probes["checkpoint"].max()].set_index("example_id")
    base = AutoModelForSequenceClassification.from_pretrained(resolve_model("minilm").path, num_labels=3)
    model = PeftModel.from_pretrained(base, out / "model").eval()
    run = Run(small(data_dir), out.parent / "unused")  # same data and tokenisation, nothing written
    tracked = run.data.tracked
    ids = run.train_set.ids[tracked]
    from loradyn.train.batches import collate

    batch = collate(run.train_set, tracked, pad_id=run.pad_id, left=False)
    with torch.no_grad():
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
    expected = example_stats(logits, batch["labels"])
    np.testing.assert_allclose(last.loc[ids, "loss"], expected["loss"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(last.loc[ids, "margin"], expected["margin"], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(last.loc[ids, "pred"], expected["pred"])
    assert not (out.parent / "unused").exists()


def test_run_directory_keeps_the_annotations(lora_run):
    out, run = lora_run
    examples = pd.read_parquet(out / "examples.parquet")
    tracked = examples[examples["tracked"]]
    assert len(tracked) == N_TRACKED
    assert tracked["entropy"].between(0, math.log(3)).all()
    assert set(tracked["category"]) <= {"clean", "ambiguous", "contested"}
    assert (examples["n_tokens"] <= 64).all() and (examples["total_words"] > 0).all()
    assert set(run) >= {"config", "versions", "seed", "timings", "final"}


def test_stats_against_hand_computed_values():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
    stats = example_stats(logits, torch.tensor([0, 1]))
    z = math.exp(2) + math.exp(1) + 1
    assert stats["loss"][0] == pytest.approx(-math.log(math.exp(2) / z), abs=1e-6)
    assert stats["p_gold"][1] == pytest.approx(1 / (2 + math.exp(3)), abs=1e-6)
    assert stats["margin"].tolist() == [1.0, -3.0]
    assert stats["pred"].tolist() == [0, 2]


@pytest.mark.parametrize("method", ["full", "ia3"])
def test_full_and_ia3_runs(data_dir, tmp_path, method):
    config = small(data_dir, method=method, epochs=1, n_bulk=16, n_tracked=16, lr=1e-4 if method == "full" else 1e-2)
    run = train(config, tmp_path / method, show_progress=False)
    probes = read_dynamics(tmp_path / method, mode="probe")
    assert len(probes) == 16 * run["progress"]["checkpoints"]
    first, last = (probes[probes["checkpoint"] == c]["loss"].mean() for c in (0, probes["checkpoint"].max()))
    assert last < first
    full_size = run["model"]["total_params"]
    assert (run["model"]["trainable_params"] == full_size) == (method == "full")


def test_smollm2_decoder_lora_run(data_dir, tmp_path):
    config = small(
        data_dir, model="smollm2-135m", epochs=1, n_bulk=8, n_tracked=8, n_validation=8, batch_size=8, max_length=48
    )
    run = train(config, tmp_path / "smol", show_progress=False)
    assert run["model"]["decoder"] is True
    probes = read_dynamics(tmp_path / "smol", mode="probe")
    assert len(probes) == 8 * run["progress"]["checkpoints"]
    assert np.isfinite(probes["loss"]).all()
    # LoRA r4 on q_proj (576 -> 576) and v_proj (576 -> 192: 3 key-value heads of 64) in 30 layers, plus the head
    assert run["model"]["trainable_params"] == 30 * 4 * ((576 + 576) + (576 + 192)) + 3 * 576


def test_noisy_training_recorded_against_both_label_sets(data_dir, tmp_path):
    config = small(data_dir, epochs=1, noise_rate=0.25, noise_seed=3, record_labels="both", record_probs=True)
    run = train(config, tmp_path / "noisy", show_progress=False)
    examples = pd.read_parquet(tmp_path / "noisy" / "examples.parquet")
    train_rows = examples[examples["split"] == "train"]
    assert train_rows["is_noisy"].sum() == run["data"]["n_noisy"] == round(0.25 * (N_BULK + N_TRACKED))
    assert ((train_rows["label"] != train_rows["original_label"]) == train_rows["is_noisy"]).all()
    probes = read_dynamics(tmp_path / "noisy", mode="probe")
    assert len(probes) == 2 * N_TRACKED * run["progress"]["checkpoints"]
    wide = probes.pivot_table(index=["example_id", "checkpoint"], columns="target", values="label")
    noisy_ids = set(train_rows.loc[train_rows["is_noisy"], "example_id"])
    differs = wide["original"] != wide["noisy"]
    assert set(differs[differs].index.get_level_values(0)) == noisy_ids & set(probes["example_id"])
    truth = train_rows.set_index("example_id")["original_label"]
    original = probes[probes["target"] == "original"]
    np.testing.assert_array_equal(original["label"], truth.loc[original["example_id"]])
    probs = np.stack(original["probs"].to_numpy())
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(probs[np.arange(len(probs)), original["label"]], original["p_gold"], atol=1e-6)


def test_every_seed_of_a_condition_tracks_the_same_items(data_dir):
    from loradyn.train.rundata import build_run_data

    a, b = (build_run_data(small(data_dir, seed=s)) for s in (42, 123))
    assert set(a.train.ids[a.tracked]) == set(b.train.ids[b.tracked])
    assert set(a.validation.ids) == set(b.validation.ids)
    assert a.train.ids.tolist() == b.train.ids.tolist()  # one bulk draw (seed 42) for every run seed

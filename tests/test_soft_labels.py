"""The first study's soft-label ablation (its script 10 ``--soft-label``): ChaosNLI items trained on KL(votes || model),
bulk items on the class-weighted cross-entropy, each by its share of the batch; recorded losses unchanged."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from conftest import REPO
from test_train import N_BULK, N_TRACKED, small
from typer.testing import CliRunner

from loradyn.cli import app
from loradyn.errors import DataError
from loradyn.store import read_dynamics
from loradyn.train.batches import epoch_batches
from loradyn.train.objective import vote_distributions
from loradyn.train.rundata import build_run_data
from loradyn.train.runner import Run, RunProgress, train


def _grads(run: Run) -> dict[str, torch.Tensor]:
    grads = {n: p.grad.clone() for n, p in run.model.named_parameters() if p.requires_grad}
    run.optimizer.zero_grad(set_to_none=True)
    return grads


def _votes(run: Run, positions: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """The vote distributions of ``positions`` and whether each has votes, read from the data frame."""
    frame = run.data.train.frame.iloc[positions]
    counts = frame[run.data.train.task.vote_columns()].to_numpy(dtype=np.float64, na_value=np.nan)
    voted = ~np.isnan(counts).any(axis=1)
    probs = np.nan_to_num(counts) / np.where(voted, np.nansum(counts, axis=1), 1.0)[:, None]
    return torch.as_tensor(probs, dtype=torch.float32), torch.as_tensor(voted)


@pytest.fixture(scope="module")
def soft_run(data_dir, tmp_path_factory):
    """Several micro-batches per batch (grad_accum 4), no dropout, nothing written."""
    config = small(data_dir, batch_size=32, disable_dropout=True, grad_accum=4, soft_labels=True)
    run = Run(config, tmp_path_factory.mktemp("soft") / "unused")
    batch = epoch_batches(run.train_set.lengths, batch_size=32, seed=0, epoch=0, group_by_length=False)[0]
    return run, batch


def test_micro_batches_give_the_gradient_of_the_studys_soft_loss(soft_run):
    run, batch = soft_run
    probs, voted = _votes(run, batch)
    assert 0 < int(voted.sum()) < len(batch)  # a batch that mixes voted (ChaosNLI) and bulk items
    assert len(set(run.train_set.lengths[batch])) > 8  # of mixed lengths: cut into several pieces
    assert (run.objective.example_weights[batch] == 1).all()

    run.optimizer.zero_grad(set_to_none=True)
    loss, _ = run._accumulate(batch, RunProgress(), 0)
    split = _grads(run)

    # L = (|S|/B) KL(p || q) over S + (|H|/B) class-weighted CE over H, on one padded pass of the whole batch
    inputs = {k: v for k, v in run._batch(run.train_set, batch).items() if k != "labels"}
    logits = run.model(**inputs).logits.float()
    labels = torch.as_tensor(run.train_set.labels[batch])
    n, s, h = len(batch), int(voted.sum()), int((~voted).sum())
    kl = F.kl_div(F.log_softmax(logits[voted], dim=-1), probs[voted], reduction="batchmean")
    ce = F.cross_entropy(logits[~voted], labels[~voted], weight=run.objective.class_weights)
    reference = s / n * kl + h / n * ce
    reference.backward()
    whole = _grads(run)

    assert loss == pytest.approx(float(reference.detach()), rel=1e-5)
    for name, grad in whole.items():
        torch.testing.assert_close(split[name], grad, rtol=1e-4, atol=1e-6, msg=name)


def test_soft_loss_counts_downweighted_examples_by_their_weight(soft_run, data_dir, tmp_path):
    """An example of weight e counts as e of one: L = (sum_S e KL + E_H sum_H e w CE / sum_H e w) / E."""
    same, batch = soft_run  # the same data: its batch and votes
    probs, voted = _votes(same, batch)
    down = [*same.train_set.ids[batch][voted.numpy()][:2], *same.train_set.ids[batch][~voted.numpy()][:2]]
    config = small(data_dir, batch_size=32, disable_dropout=True, grad_accum=3, soft_labels=True, downweight_ids=down)
    run = Run(config, tmp_path / "unused")
    run.optimizer.zero_grad(set_to_none=True)
    loss, _ = run._accumulate(batch, RunProgress(), 0)
    split = _grads(run)

    inputs = {k: v for k, v in run._batch(run.train_set, batch).items() if k != "labels"}
    logits = run.model(**inputs).logits.float()
    labels = torch.as_tensor(run.train_set.labels[batch])
    e = torch.as_tensor(np.where(np.isin(run.train_set.ids[batch], down), config.downweight, 1.0), dtype=torch.float32)
    kl = F.kl_div(F.log_softmax(logits, dim=-1), probs, reduction="none").sum(-1)
    ce = F.cross_entropy(logits, labels, weight=run.objective.class_weights, reduction="none")  # w_y CE
    w = run.objective.class_weights[labels]
    hard = e[~voted].sum() * (e * ce)[~voted].sum() / (e * w)[~voted].sum()
    reference = ((e * kl)[voted].sum() + hard) / e.sum()
    reference.backward()
    whole = _grads(run)

    assert loss == pytest.approx(float(reference.detach()), rel=1e-5)
    for name, grad in whole.items():
        torch.testing.assert_close(split[name], grad, rtol=1e-4, atol=1e-6, msg=name)


def test_a_batch_without_votes_trains_as_the_hard_condition(soft_run):
    run, _ = soft_run
    bulk = np.flatnonzero(~run.objective.voted.numpy())[:24]
    run.optimizer.zero_grad(set_to_none=True)
    soft_loss, _ = run._accumulate(bulk, RunProgress(), 0)
    soft = _grads(run)
    soft_objective = run.objective
    run.objective = dataclasses.replace(soft_objective, soft_targets=None, voted=None)
    try:
        hard_loss, _ = run._accumulate(bulk, RunProgress(), 0)
    finally:
        run.objective = soft_objective
    hard = _grads(run)
    assert soft_loss == pytest.approx(hard_loss, rel=1e-6)
    for name, grad in hard.items():
        torch.testing.assert_close(soft[name], grad, rtol=1e-5, atol=1e-7, msg=name)


def test_soft_targets_are_the_vote_distributions_of_the_chaosnli_items(soft_run):
    run, _ = soft_run
    origin = run.data.train.frame["origin"].to_numpy()
    assert (run.objective.voted.numpy() == (origin == "annotated")).all()
    assert int(run.objective.voted.sum()) == N_TRACKED
    targets = run.objective.soft_targets.numpy()
    np.testing.assert_allclose(targets[run.objective.voted.numpy()].sum(axis=1), 1.0, rtol=1e-6)
    assert (targets[~run.objective.voted.numpy()] == 0).all()


def test_a_soft_label_run_trains_and_records_as_usual(data_dir, tmp_path):
    out = tmp_path / "soft"
    run = train(small(data_dir, soft_labels=True, epochs=1, record_probs=True), out, show_progress=False)
    assert run["status"] == "complete" and run["config"]["soft_labels"] is True
    probes = read_dynamics(out, mode="probe")
    assert (probes.groupby("checkpoint")["example_id"].nunique() == N_TRACKED).all()
    # what is recorded is unchanged: unweighted cross-entropy against the majority label
    probs = np.stack(probes["probs"].to_numpy())
    expected = -np.log(probs[np.arange(len(probes)), probes["label"].to_numpy(dtype=int)])
    np.testing.assert_allclose(probes["loss"].to_numpy(), expected, rtol=1e-4, atol=1e-5)
    table = pd.read_parquet(out / "examples.parquet")
    majority = table.set_index("example_id")["original_label"]
    assert (probes["label"].to_numpy() == majority.loc[probes["example_id"]].to_numpy()).all()
    assert len(read_dynamics(out, mode="inline")) == N_BULK + N_TRACKED


def test_soft_labels_need_a_dataset_with_votes(data_dir):
    with pytest.raises(ValueError, match=r"^soft_labels needs annotator votes"):
        small(data_dir, dataset="ag-news", soft_labels=True)
    data = build_run_data(small(data_dir, dataset="ag-news", n_bulk=64))
    with pytest.raises(DataError, match="field 'soft_labels'") as err:
        vote_distributions(data)
    assert err.value.field == "soft_labels" and "Fix:" in str(err.value)


def test_the_preset_compares_hard_and_soft_labels_over_three_seeds():
    result = CliRunner().invoke(app, ["sweep", str(REPO / "configs" / "paper1-soft.yaml"), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)["runs"]
    assert [(r["condition"], r["seed"], r["config"]["soft_labels"]) for r in runs] == [
        (condition, seed, soft)
        for condition, soft in (("no-soft_labels", False), ("soft_labels", True))
        for seed in (42, 123, 456)
    ]
    assert {(r["config"]["model"], r["config"]["rank"], r["config"]["dataset"]) for r in runs} == {
        ("roberta-base", 4, "chaosnli-snli")
    }

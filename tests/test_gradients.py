"""Gradient measurements (the first study's scripts 17 and 10 --gradient-norms) against independent computations:
per-example backward passes one at a time, on the real model and data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from test_train import small

from loradyn.analyze import analyze
from loradyn.errors import DataError
from loradyn.stats.gradients import gradient_cosine_summary, gradient_norm_statistics
from loradyn.store import read_dynamics
from loradyn.train.runner import Run, train


def tiny(data_dir, **changes):
    return small(data_dir, n_bulk=16, n_tracked=24, n_validation=8, epochs=1, batch_size=8, probe_every=2, **changes)


def one_by_one(run: Run, positions: np.ndarray, *, train_mode: bool) -> list[torch.Tensor]:
    """Each example's flattened gradient of its cross-entropy against the original label, by .backward() on a batch
    of one (no padding), over every trainable parameter."""
    model = run.accelerator.unwrap_model(run.model)
    model.train(train_mode)
    params = [p for p in model.parameters() if p.requires_grad]
    grads = []
    for i in positions:
        batch = run._batch(run.train_set, np.array([i]))
        model.zero_grad(set_to_none=True)
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
        F.cross_entropy(logits, torch.tensor([run.data.original_labels[i]])).backward()
        grads.append(torch.cat([p.grad.reshape(-1) for p in params]).clone())
    model.zero_grad(set_to_none=True)
    return grads


def test_the_clean_contested_cosine_at_step_0_is_that_of_the_mean_gradients(data_dir, tmp_path):
    run = Run(tiny(data_dir, gradient_cosine=True, disable_dropout=True), tmp_path / "run")
    category = run.data.table["category"].to_numpy()[run.data.tracked]
    clean, contested = (run.data.tracked[category == c] for c in ("clean", "contested"))
    assert len(clean) and len(contested)
    mean = [torch.stack(one_by_one(run, group, train_mode=True)).mean(0) for group in (clean, contested)]
    expected = float(F.cosine_similarity(mean[0], mean[1], dim=0))
    result = run.fit(show_progress=False)
    history = result["gradient_cosine"]
    assert [h["step"] for h in history] == [0, 2, 4, 5]  # step 0, every 2 steps, the epoch end
    assert history[0]["cosine"] == pytest.approx(expected, abs=1e-5)
    assert len({round(h["cosine"], 6) for h in history}) == 4  # it moves with training


def test_measuring_the_cosine_leaves_training_unchanged(data_dir, tmp_path):
    """Dropout on: the measurement runs in train mode on a forked RNG, so training sees the same masks."""
    plain = train(tiny(data_dir), tmp_path / "plain", show_progress=False)
    measured = train(tiny(data_dir, gradient_cosine=True), tmp_path / "measured", show_progress=False)
    assert plain["progress"] == measured["progress"] and "gradient_cosine" not in plain
    a, b = (read_dynamics(tmp_path / name).drop(columns="run_id") for name in ("plain", "measured"))
    pd.testing.assert_frame_equal(a, b)


def test_each_tracked_items_gradient_norm_on_the_final_model_and_its_analysis(data_dir, tmp_path):
    run = Run(tiny(data_dir, gradient_norms=True, gradient_cosine=True), tmp_path / "run")
    result = run.fit(show_progress=False)
    norms = pd.read_parquet(tmp_path / "run" / "gradient_norms.parquet")
    tracked = run.data.tracked
    assert norms["example_id"].tolist() == run.train_set.ids[tracked].tolist()
    expected = [float(g.norm()) for g in one_by_one(run, tracked, train_mode=False)]
    np.testing.assert_allclose(norms["grad_norm"], expected, rtol=1e-4)
    assert norms["grad_norm"].std() > 0
    stats = analyze([tmp_path / "run"], n_resamples=100)["runs"][0]
    assert stats["gradient_norms"]["n_items"] == len(tracked)
    assert sum(c["n"] for c in stats["gradient_norms"]["by_category"].values()) == len(tracked)
    assert stats["gradient_cosine"]["steps"] == [h["step"] for h in result["gradient_cosine"]]
    assert stats["gradient_cosine"]["last"] == result["gradient_cosine"][-1]["cosine"]


def test_gradient_norm_statistics_by_hand():
    # ranks 1..6, rank sums 3, 7, 11 over groups of 2: H = 12 / (6 * 7) * (9 + 49 + 121) / 2 - 3 * 7 = 4.5714
    result = gradient_norm_statistics(
        np.array([1.0, 2, 3, 4, 5, 6, np.nan]),
        np.array([0.1, 0.2, 0.5, 0.6, 0.8, 0.9, 1.0]),
        np.array(["clean", "clean", "ambiguous", "ambiguous", "contested", "contested", "contested"]),
    )
    assert result["n_items"] == 6 and result["spearman_rho"] == pytest.approx(1.0)
    assert result["kruskal_h"] == pytest.approx(12 / 42 * 179 / 2 - 21)
    assert result["kruskal_p"] == pytest.approx(math.exp(-result["kruskal_h"] / 2))  # chi-squared, 2 df
    assert result["by_category"]["contested"] == {"mean": 5.5, "sd": 0.5, "median": 5.5, "n": 2}  # ddof 0
    trend = gradient_cosine_summary(
        [{"step": 0, "cosine": 0.9}, {"step": 5, "cosine": 0.4}, {"step": 9, "cosine": 0.5}]
    )
    assert (trend["first"], trend["last"], trend["min"], trend["trend_rho"]) == (0.9, 0.5, 0.4, pytest.approx(-0.5))


def test_the_cosine_needs_clean_and_contested_items(data_dir, tmp_path):
    with pytest.raises(DataError, match="compares the clean and the contested tracked items") as err:
        Run(small(data_dir, dataset="ag-news", n_tracked=8, gradient_cosine=True), tmp_path / "run")
    assert err.value.field == "gradient_cosine"

"""Noisy-label detectors, thresholds and evaluation: hand-computed values, planted noise in seeded synthetic
dynamics, and agreement with scikit-learn and cleanlab."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cleanlab.filter import find_label_issues
from cleanlab.rank import get_label_quality_scores
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score, roc_auc_score

from loradyn.errors import DataError
from loradyn.experiments.detect import (
    EVALUATION,
    detect,
    load_run,
    pair_runs,
    read_trusted,
    records,
    trusted_sample,
    write_detections,
    write_results,
)
from loradyn.noisy.confident import confident_learning
from loradyn.noisy.detectors import (
    aum_score,
    datamap_confidence,
    forgetting_score,
    prediction_disagreement,
    small_loss,
)
from loradyn.noisy.evaluation import (
    aggregate_over_seeds,
    auroc,
    average_precision,
    detection_metrics,
    evaluate,
    evaluate_by_category,
    evaluation_tables,
)
from loradyn.noisy.ract import rank_discrepancy
from loradyn.noisy.thresholds import flag_gmm, flag_top_rate, flag_trusted, trusted_threshold

K = 3
EPOCHS = 5
STEPS_PER_EPOCH = 10


# ------------------------------------------------------------------------------------------ synthetic dynamics
def _rows(ids, probs, targets, *, mode, step, checkpoint, epoch) -> pd.DataFrame:
    """Store rows of class probabilities ``probs`` (n, T, K) against each label set in ``targets`` (n,)."""
    t = probs.shape[1]
    frames = []
    for target, labels in targets.items():
        p_gold = np.take_along_axis(probs, np.repeat(labels[:, None, None], t, axis=1), axis=2)[..., 0]
        others = probs.copy()
        np.put_along_axis(others, np.repeat(labels[:, None, None], t, axis=1), -np.inf, axis=2)
        frames.append(
            pd.DataFrame(
                {
                    "run_id": "synthetic",
                    "example_id": np.repeat(ids, t),
                    "checkpoint": np.asarray(checkpoint).ravel().astype(np.int32),
                    "step": np.asarray(step).ravel().astype(np.int32),
                    "epoch": np.asarray(epoch).ravel().astype(np.float32),
                    "mode": mode,
                    "target": target,
                    "label": np.repeat(labels, t).astype(np.int8),
                    "loss": -np.log(p_gold).ravel().astype(np.float32),
                    "p_gold": p_gold.ravel().astype(np.float32),
                    "pred": probs.argmax(axis=2).ravel().astype(np.int8),
                    "margin": (np.log(p_gold) - np.log(others.max(axis=2))).ravel().astype(np.float32),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _probs(loss, noisy_label, original, is_noisy) -> np.ndarray:
    """Class probabilities (n, T, K) whose loss against the noisy label is ``loss`` (n, T): a noisy item gives
    most of the rest to its true class, a clean one splits it evenly."""
    n, t = loss.shape
    p = np.exp(-loss)
    probs = np.zeros((n, t, K))
    third = (np.arange(K)[None, :] != noisy_label[:, None]) & (np.arange(K)[None, :] != original[:, None])
    third_class = np.where(is_noisy, third.argmax(axis=1), (noisy_label + 1) % K)
    true_class = np.where(is_noisy, original, (noisy_label + 2) % K)
    rows = np.arange(n)[:, None]
    probs[rows, np.arange(t)[None, :], noisy_label[:, None]] = p
    probs[rows, np.arange(t)[None, :], true_class[:, None]] = (1 - p) * np.where(is_noisy, 0.85, 0.5)[:, None]
    probs[rows, np.arange(t)[None, :], third_class[:, None]] = (1 - p) * np.where(is_noisy, 0.15, 0.5)[:, None]
    return probs


def _loss(progress, is_noisy, *, rank, rng, sd) -> np.ndarray:
    """Clean items' loss falls early; a noisy label's loss climbs as the true class is learned, and only a
    high-rank adapter brings it down, late (after 55% of training)."""
    rate = rng.uniform(5, 9, size=(len(is_noisy), 1))
    clean = np.log(K) * np.exp(-rate * progress) + 0.02
    noisy = np.log(K) + 0.8 * progress
    if rank >= 16:
        noisy = noisy * np.exp(-12 * np.clip(progress - 0.55, 0, None))
    loss = np.where(is_noisy[:, None], noisy, clean) + rng.normal(scale=sd, size=progress.shape)
    return np.clip(loss, 1e-3, None)


def _labels(n, noise_rate, noise_seed):
    rng = np.random.default_rng(1000 + noise_seed)
    original = rng.integers(0, K, size=n)
    is_noisy = np.zeros(n, dtype=bool)
    is_noisy[rng.choice(n, size=round(noise_rate * n), replace=False)] = True
    noisy = np.where(is_noisy, (original + rng.integers(1, K, size=n)) % K, original)
    return original, noisy, is_noisy


def _dynamics(ids, original, noisy, is_noisy, *, rank, seed, tracked=None) -> pd.DataFrame:
    """Probe rows of the ``tracked`` items (all by default) every 5 steps, and one training-pass row per item per
    epoch, against both label sets."""
    rng = np.random.default_rng([seed, rank])
    n, total = len(ids), EPOCHS * STEPS_PER_EPOCH
    tracked = np.ones(n, dtype=bool) if tracked is None else tracked
    targets = {"original": original, "noisy": noisy}
    probe_steps = np.arange(0, total + 1, 5)
    probe_step = np.tile(probe_steps, (n, 1))
    loss = _loss(probe_step / total, is_noisy, rank=rank, rng=rng, sd=0.03)
    probes = _rows(
        ids[tracked],
        _probs(loss, noisy, original, is_noisy)[tracked],
        {k: v[tracked] for k, v in targets.items()},
        mode="probe",
        step=probe_step[tracked],
        checkpoint=np.tile(np.arange(len(probe_steps)), (tracked.sum(), 1)),
        epoch=probe_step[tracked] / STEPS_PER_EPOCH,
    )
    epoch = np.tile(np.arange(EPOCHS), (n, 1))
    inline_step = epoch * STEPS_PER_EPOCH + rng.integers(0, STEPS_PER_EPOCH, size=(n, EPOCHS))
    loss = _loss(inline_step / total, is_noisy, rank=rank, rng=rng, sd=0.15)
    inline = _rows(
        ids,
        _probs(loss, noisy, original, is_noisy),
        targets,
        mode="inline",
        step=inline_step,
        checkpoint=inline_step,
        epoch=epoch,
    )
    return pd.concat([probes, inline], ignore_index=True)


@pytest.fixture(scope="module")
def planted():
    """One noisy condition (30% noise, 200 items) trained at rank 4 and at rank 16."""
    ids = np.array([f"item-{i:04d}" for i in range(200)])
    original, noisy, is_noisy = _labels(len(ids), 0.3, 0)
    low = _dynamics(ids, original, noisy, is_noisy, rank=4, seed=0)
    high = _dynamics(ids, original, noisy, is_noisy, rank=16, seed=0)
    return {"ids": ids, "is_noisy": is_noisy, "low": low, "high": high, "noisy": noisy}


def _write_run(
    run_dir: Path,
    *,
    rank: int,
    seed: int = 0,
    n: int = 120,
    n_tracked: int = 90,
    noise_rate: float = 0.3,
    noise_seed: int = 0,
    oof_probs: bool = False,
) -> Path:
    """A run directory as `loradyn train` writes it: run.json, examples.parquet and dynamics.parquet."""
    run_dir.mkdir(parents=True)
    ids = np.array([f"item-{i:04d}" for i in range(n)])
    original, noisy, is_noisy = _labels(n, noise_rate, noise_seed)
    tracked = np.arange(n) < n_tracked
    _dynamics(ids, original, noisy, is_noisy, rank=rank, seed=seed, tracked=tracked).to_parquet(
        run_dir / "dynamics.parquet", index=False
    )
    entropy = np.where(np.arange(n) % 3 == 0, np.nan, np.linspace(0, 1.09, n))
    category = pd.cut(entropy, [-1, 0.4, 0.7, 2], labels=["clean", "ambiguous", "contested"]).astype(object)
    train = pd.DataFrame(
        {
            "example_id": ids,
            "label": noisy,
            "split": "train",
            "original_label": original,
            "is_noisy": is_noisy,
            "tracked": tracked,
            "entropy": entropy,
            "category": np.where(pd.isna(category), None, category),
        }
    )
    validation = pd.DataFrame(
        {"example_id": ["val-0", "val-1"], "label": [0, 1], "split": "validation", "original_label": [0, 1]}
    ).assign(is_noisy=False, tracked=False, entropy=np.nan, category=None)
    pd.concat([train, validation], ignore_index=True).to_parquet(run_dir / "examples.parquet", index=False)
    config = {
        "model": "minilm",
        "method": "lora",
        "rank": rank,
        "dataset": "ag-news",
        "noise_rate": noise_rate,
        "noise_kind": "symmetric",
        "noise_seed": noise_seed,
        "seed": seed,
        "record_labels": "both",
        "data_dir": str(run_dir),
    }
    (run_dir / "run.json").write_text(json.dumps({"run_id": run_dir.name, "status": "complete", "config": config}))
    if oof_probs:
        rng = np.random.default_rng(seed)
        logits = rng.normal(size=(n, K)) + 3 * np.eye(K)[original]
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        pd.DataFrame({"example_id": ids, "probs": list(probs)}).to_parquet(run_dir / "oof_probs.parquet")
    return run_dir


def _hand_rows(records, *, mode="inline", target="noisy") -> pd.DataFrame:
    """Store rows from ``(example_id, step, epoch, label, loss, p_gold, pred, margin)`` tuples."""
    columns = ["example_id", "step", "epoch", "label", "loss", "p_gold", "pred", "margin"]
    frame = pd.DataFrame(records, columns=columns)
    return frame.assign(run_id="hand", checkpoint=frame["step"], mode=mode, target=target)


# ------------------------------------------------------------------------------------ hand-computed values
def test_rank_discrepancy_of_two_three_checkpoint_curves():
    curves = {"a": ([1.0, 0.8, 0.6], [1.0, 0.4, 0.1]), "b": ([1.0, 0.3, 0.2], [1.0, 0.3, 0.1])}
    low, high = (
        _hand_rows(
            [
                (example, step, step / 50, 0, losses[run][i], 0.5, 0, 0.0)
                for example, losses in curves.items()
                for i, step in enumerate((0, 50, 100))
            ],
            mode="probe",
        )
        for run in (0, 1)
    )
    # Second half (steps 50 and 100): a: (0.8 + 0.6) / 2 - (0.4 + 0.1) / 2 = 0.45; b: 0.25 - 0.2 = 0.05.
    np.testing.assert_allclose(rank_discrepancy(low, high, ["b", "a"]), [0.05, 0.45])
    # The whole run: a: 0.8 - 0.5 = 0.3.
    np.testing.assert_allclose(rank_discrepancy(low, high, ["a"], window=(0.0, 1.0)), [0.3])
    # The last checkpoint alone.
    np.testing.assert_allclose(rank_discrepancy(low, high, ["a", "b"], window=(0.9, 1.0)), [0.5, 0.1])
    with pytest.raises(ValueError, match="window must be"):
        rank_discrepancy(low, high, ["a"], window=(0.6, 0.5))
    with pytest.raises(ValueError, match="source must be one of"):
        rank_discrepancy(low, high, ["a"], source="probes")
    with pytest.raises(DataError, match="have no probe recording in the window"):
        rank_discrepancy(low, high, ["a"], window=(0.6, 0.9))


def test_forgetting_events_on_five_presentations():
    trajectories = {
        "twice": [1, 0, 1, 0, 1],  # learned -> forgotten at 2 -> 3... : two events
        "never": [0, 0, 0, 0, 0],  # never learned: T = 5, above any possible count
        "learned": [0, 1, 1, 1, 1],
        "once": [1, 1, 0, 0, 1],
    }
    records = [
        (example, epoch * 10, epoch, 2, 0.5, 0.5, 2 if correct else 0, 0.0)
        for example, path in trajectories.items()
        for epoch, correct in enumerate(path)
    ]
    scores = forgetting_score(_hand_rows(records), ["twice", "never", "learned", "once"])
    np.testing.assert_array_equal(scores, [2, 5, 0, 1])


def test_loss_margin_and_confidence_scores_by_hand():
    records = [
        ("a", 0, 0, 1, 1.0, 0.4, 1, 0.5),
        ("a", 10, 1, 1, 0.5, 0.6, 1, 1.5),
        ("a", 20, 2, 1, 0.3, 0.8, 1, 2.5),
        ("b", 5, 0, 0, 2.0, 0.1, 2, -1.0),
        ("b", 15, 1, 0, 1.5, 0.2, 2, -0.5),
        ("b", 25, 2, 0, 0.2, 0.9, 0, 1.0),
    ]
    rows = _hand_rows(records)
    # Rows against the original labels are never read.
    rows = pd.concat([rows, _hand_rows(records, target="original").assign(loss=99.0, margin=99.0, p_gold=0.0)])
    np.testing.assert_allclose(small_loss(rows, ["b", "a"]), [3.7 / 3, 0.6])
    np.testing.assert_allclose(small_loss(rows, ["a", "b"], reduce="final"), [0.3, 0.2])
    np.testing.assert_allclose(aum_score(rows, ["a", "b"]), [-1.5, 0.5 / 3])
    np.testing.assert_allclose(datamap_confidence(rows, ["a", "b"]), [-0.6, -0.4])
    # Final predictions agree with both labels; the tie is broken by final loss: s = loss / (1 + loss).
    np.testing.assert_allclose(prediction_disagreement(rows, ["a", "b"]), [0.3 / 1.3, 0.2 / 1.2])
    last_b = (rows["example_id"] == "b") & (rows["step"] == 25)
    rows.loc[last_b, "pred"] = 1
    np.testing.assert_allclose(prediction_disagreement(rows, ["a", "b"]), [0.3 / 1.3, 1 + 0.2 / 1.2])
    with pytest.raises(ValueError, match="reduce must be one of"):
        small_loss(rows, ["a"], reduce="last")


def test_rows_against_noisy_labels_are_required():
    rows = _hand_rows([("a", 0, 0, 1, 1.0, 0.4, 1, 0.5)], target="original")
    with pytest.raises(DataError, match=r"no rows against the noisy labels.*record_labels='both'"):
        small_loss(rows, ["a"])
    with pytest.raises(DataError, match="no 'target' column"):
        small_loss(rows.drop(columns="target"), ["a"])


def test_source_auto_falls_back_to_the_training_pass(planted):
    low, ids = planted["low"], planted["ids"]
    partial = low[~((low["mode"] == "probe") & (low["example_id"] == ids[0]))]
    np.testing.assert_array_equal(small_loss(partial, ids), small_loss(low, ids, source="inline"))
    assert not np.allclose(small_loss(low, ids), small_loss(low, ids, source="inline"))  # auto read probes
    np.testing.assert_array_equal(small_loss(low, ids), small_loss(low, ids, source="probe"))
    with pytest.raises(DataError, match=r"1 example.*no probe rows"):
        small_loss(partial, ids, source="probe")


# ----------------------------------------------------------------------------------------- planted noise
@pytest.mark.parametrize(
    ("name", "run", "score"),
    [
        ("rank_discrepancy", None, lambda p, ids: rank_discrepancy(p["low"], p["high"], ids)),
        ("small_loss", "low", lambda d, ids: small_loss(d, ids)),
        ("small_loss", "high", lambda d, ids: small_loss(d, ids)),
        ("final_loss", "low", lambda d, ids: small_loss(d, ids, reduce="final")),
        ("aum", "low", aum_score),
        ("aum", "high", aum_score),
        ("datamap_confidence", "low", datamap_confidence),
        ("datamap_confidence", "high", datamap_confidence),
        ("forgetting", "low", forgetting_score),
        ("disagreement", "low", prediction_disagreement),
    ],
)
def test_detectors_find_planted_noise(planted, name, run, score):
    data = planted if run is None else planted[run]
    assert auroc(score(data, planted["ids"]), planted["is_noisy"]) > 0.9


def test_rank_discrepancy_beats_the_final_loss_of_the_high_rank_run(planted):
    """The high-rank adapter memorises the noisy labels by the end, so its final loss hides them; the gap to
    the low-rank run does not."""
    ids, truth = planted["ids"], planted["is_noisy"]
    final_high = auroc(small_loss(planted["high"], ids, reduce="final"), truth)
    ract = auroc(rank_discrepancy(planted["low"], planted["high"], ids), truth)
    assert final_high < 0.75 < 0.95 < ract


def test_confident_learning_equals_cleanlab():
    rng = np.random.default_rng(3)
    original, noisy, is_noisy = _labels(300, 0.2, 3)
    logits = rng.normal(size=(300, K)) + 2.5 * np.eye(K)[original]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    result = confident_learning(probs, noisy)
    np.testing.assert_array_equal(result.issues, find_label_issues(noisy, probs))
    np.testing.assert_allclose(result.scores, 1 - get_label_quality_scores(noisy, probs))
    other = confident_learning(probs, noisy, filter_by="prune_by_class", method="normalized_margin")
    np.testing.assert_array_equal(other.issues, find_label_issues(noisy, probs, filter_by="prune_by_class"))
    np.testing.assert_allclose(other.scores, 1 - get_label_quality_scores(noisy, probs, method="normalized_margin"))
    assert auroc(result.scores, is_noisy) > 0.9
    assert detection_metrics(result.issues, is_noisy)["f1"] > 0.7
    with pytest.raises(ValueError, match="filter_by must be one of"):
        confident_learning(probs, noisy, filter_by="prune")
    with pytest.raises(ValueError, match="pred_probs must be"):
        confident_learning(probs, noisy[:-1])


# ---------------------------------------------------------------------------------------------- thresholds
def test_flag_top_rate():
    scores = np.array([0.1, 0.9, 0.5, 0.7, 0.3])
    np.testing.assert_array_equal(flag_top_rate(scores, rate=0.4), [False, True, False, True, False])
    assert flag_top_rate(scores, rate=0.3).sum() == 2  # round(1.5) = 2, the count inject_noise flips
    assert flag_top_rate(scores, rate=0.0).sum() == 0
    with pytest.raises(ValueError, match="rate must be in"):
        flag_top_rate(scores, rate=1.5)
    with pytest.raises(ValueError, match="NaN or infinite"):
        flag_top_rate(np.array([0.1, np.nan]), rate=0.5)


def test_flag_gmm_finds_the_high_component():
    rng = np.random.default_rng(0)
    scores = np.r_[rng.normal(0, 0.2, 80), rng.normal(3, 0.2, 20)]
    flags = flag_gmm(scores, seed=0)
    np.testing.assert_array_equal(flags, np.arange(100) >= 80)
    # A wide high component never claims items below the low component's mean.
    skewed = np.r_[rng.normal(0, 0.05, 90), rng.normal(2, 2.0, 10), [-1.0]]
    assert not flag_gmm(skewed)[-1]
    assert not flag_gmm(np.ones(10)).any()


def test_trusted_threshold_maximises_f1():
    scores = np.array([0.1, 0.2, 0.3, 0.8, 0.9, 0.4])
    truth = np.array([False, False, False, True, True, False])
    assert trusted_threshold(scores, truth) == 0.8
    # Noisy at 0.3, 0.35, 0.8, 0.9; clean at 0.1, 0.2, 0.32, 0.5. F1 from 0.8: 4/6; from 0.35: 6/8; from 0.3
    # (every noisy item and two clean ones): 8/10, the best; from 0.2: 8/11.
    scores = np.array([0.1, 0.2, 0.3, 0.32, 0.35, 0.5, 0.8, 0.9])
    truth = np.array([False, False, True, False, True, False, True, True])
    assert trusted_threshold(scores, truth) == 0.3
    # Ties in F1 go to the higher threshold: noisy at 0.9 and 0.4, clean at 0.6, 0.5, 0.1; flagging from 0.9
    # (TP 1, FN 1) and from 0.4 (TP 2, FP 2) both give F1 = 2/3.
    scores, truth = np.array([0.9, 0.6, 0.5, 0.4, 0.1]), np.array([True, False, False, True, False])
    assert trusted_threshold(scores, truth) == 0.9
    ids = np.array(["a", "b", "c", "d", "e", "f"])
    flags = flag_trusted(np.array([0.1, 0.9, 0.5, 0.7, 0.3, 0.6]), ids, pd.Series([True, False], index=["d", "e"]))
    np.testing.assert_array_equal(flags, [False, True, False, True, False, False])


def test_trusted_subset_needs_noisy_and_clean_items():
    with pytest.raises(DataError, match=r"has no noisy item.*at least one known-noisy and one known-clean"):
        trusted_threshold(np.array([0.1, 0.5]), np.array([False, False]))
    with pytest.raises(DataError, match="has no clean item"):
        trusted_threshold(np.array([0.1, 0.5]), np.array([True, True]))
    with pytest.raises(DataError, match=r"trusted id.*not among the scored examples"):
        flag_trusted(np.array([0.1, 0.5]), np.array(["a", "b"]), pd.Series([True, False], index=["a", "z"]))


# ---------------------------------------------------------------------------------------------- evaluation
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_equal_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    truth = rng.random(200) < 0.3
    scores = truth * rng.normal(1, 1, 200) + rng.normal(0, 1, 200)
    scores[:20] = np.round(scores[:20])  # ties
    for flags in (scores > 0.8, np.zeros(200, dtype=bool), truth | (rng.random(200) < 0.1)):
        ours = detection_metrics(flags, truth)
        assert ours["precision"] == pytest.approx(precision_score(truth, flags, zero_division=0))
        assert ours["recall"] == pytest.approx(recall_score(truth, flags, zero_division=0))
        assert ours["f1"] == pytest.approx(f1_score(truth, flags, zero_division=0))
    assert auroc(scores, truth) == pytest.approx(roc_auc_score(truth, scores))
    assert average_precision(scores, truth) == pytest.approx(average_precision_score(truth, scores))
    with pytest.raises(ValueError, match="need noisy and clean items"):
        auroc(scores, np.zeros(200, dtype=bool))


def _detections():
    """Two seeds of one detector, and one seed of a detector with its own rule."""
    truth = np.array([True, True, False, False, False])
    rows = []
    for seed, scores in ((0, [0.9, 0.4, 0.5, 0.1, 0.2]), (1, [0.9, 0.8, 0.1, 0.2, 0.3])):
        rows.append(
            pd.DataFrame(
                {
                    "detector": "a",
                    "run": f"r{seed}",
                    "noise_rate": 0.4,
                    "seed": seed,
                    "example_id": list("vwxyz"),
                    "score": scores,
                    "flag_known_rate": flag_top_rate(np.array(scores), rate=0.4),
                    "flag_own": pd.array([None] * 5, dtype="boolean"),
                    "is_noisy": truth,
                    "category": ["clean", "contested", "contested", None, "ambiguous"],
                }
            )
        )
    rows.append(rows[0].assign(detector="b", flag_own=pd.array([True, False, True, False, False], dtype="boolean")))
    return pd.concat(rows, ignore_index=True)


def test_evaluate_many_detectors_into_one_table():
    table = evaluate(_detections())
    assert list(table[["detector", "run", "threshold"]].itertuples(index=False, name=None)) == [
        ("a", "r0", "known_rate"),
        ("a", "r1", "known_rate"),
        ("b", "r0", "known_rate"),
        ("b", "r0", "own"),
    ]
    # a, seed 0: flags v, x (0.9, 0.5); one of two right. AUROC: noisy (0.9, 0.4) vs clean (0.5, 0.1, 0.2): 5/6.
    first = table.iloc[0]
    assert (first["n"], first["n_noisy"], first["n_flagged"]) == (5, 2, 2)
    assert first[["precision", "recall", "f1"]].tolist() == pytest.approx([0.5, 0.5, 0.5])
    assert first["auroc"] == pytest.approx(5 / 6)
    assert table.iloc[1][["precision", "recall", "auroc"]].tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert table.iloc[3][["precision", "recall"]].tolist() == pytest.approx([0.5, 0.5])


def test_aggregate_over_seeds_gives_mean_and_sd():
    summary = aggregate_over_seeds(evaluate(_detections()))
    a = summary[(summary["detector"] == "a") & (summary["threshold"] == "known_rate")].iloc[0]
    assert a["n_seeds"] == 2
    assert a["f1_mean"] == pytest.approx(0.75)
    assert a["f1_sd"] == pytest.approx(np.std([0.5, 1.0], ddof=1))
    assert a["auroc_mean"] == pytest.approx((5 / 6 + 1) / 2)
    b = summary[(summary["detector"] == "b") & (summary["threshold"] == "own")].iloc[0]
    assert b["n_seeds"] == 1 and np.isnan(b["f1_sd"])
    repeated = evaluate(_detections()).assign(seed=0)
    with pytest.raises(DataError, match=r"two runs of seed 0 fall in one condition .* differ in a setting"):
        aggregate_over_seeds(repeated, over=("run",))


def test_evaluate_by_category_tells_wrong_from_contested():
    table = evaluate_by_category(_detections()[lambda d: d["detector"] == "a"])
    # Seed 0 flags v (clean category, noisy) and x (contested, clean); y has no category and is left out.
    r0 = table[table["run"] == "r0"].set_index("category")
    assert list(r0.index) == ["clean", "ambiguous", "contested"]
    columns = ["n", "n_noisy", "share_flagged", "precision", "recall"]
    assert r0.loc["clean", columns].tolist() == [1, 1, 1.0, 1.0, 1.0]
    assert r0.loc["contested", columns].tolist() == [2, 1, 0.5, 0.0, 0.0]
    # Nothing flagged and nothing noisy among the ambiguous: precision and recall have nothing to measure.
    ambiguous = r0.loc["ambiguous", columns].tolist()
    assert ambiguous[:3] == [1, 0, 0.0] and np.isnan(ambiguous[3:]).all()
    r1 = table[table["run"] == "r1"].set_index("category")  # flags v and w, both noisy
    assert r1.loc["contested", ["share_flagged", "precision", "recall"]].tolist() == [0.5, 1.0, 1.0]
    with pytest.raises(ValueError, match="threshold must be one of known_rate, own"):
        evaluate_by_category(_detections(), threshold="gmm")
    with pytest.raises(DataError, match="no example has an annotation-entropy category"):
        evaluate_by_category(_detections().assign(category=None))


# -------------------------------------------------------------------------------------------- run directories
@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return [
        _write_run(root / f"r{rank}-s{seed}", rank=rank, seed=seed, oof_probs=rank == 4)
        for seed in (0, 1)
        for rank in (4, 16)
    ]


def test_detect_scores_every_applicable_detector(run_dirs, tmp_path):
    table = detect(run_dirs, trusted=_trusted(run_dirs[0]))
    counts = table.groupby("detector")["run"].nunique()
    assert counts.to_dict() == {
        "aum": 4,
        "confident_learning": 2,
        "datamap_confidence": 4,
        "disagreement": 4,
        "final_loss": 4,
        "forgetting": 4,
        "rank_discrepancy": 2,
        "small_loss": 4,
    }
    ract = table[table["detector"] == "rank_discrepancy"]
    assert set(ract["run"]) == {"r4-s0|r16-s0", "r4-s1|r16-s1"}
    assert set(ract["rank"]) == {16} and set(ract["low_rank"]) == {4}
    assert table.loc[table["detector"] == "aum", "low_rank"].isna().all()
    one = ract[ract["run"] == "r4-s0|r16-s0"]
    assert len(one) == 90  # the tracked training items
    assert one["flag_known_rate"].sum() == round(0.3 * 90)
    assert one["category"].notna().sum() == 60 and one["entropy"].notna().sum() == 60
    assert table.loc[table["detector"] == "small_loss", "flag_own"].isna().all()
    assert table.loc[table["detector"] == "disagreement", "flag_own"].notna().all()

    evaluation = evaluate(table)
    ract_eval = evaluation[(evaluation["detector"] == "rank_discrepancy") & (evaluation["threshold"] == "known_rate")]
    assert (ract_eval["auroc"] > 0.9).all() and (ract_eval["f1"] > 0.8).all()
    assert set(evaluation["threshold"]) == {"known_rate", "gmm", "trusted", "own"}
    summary = aggregate_over_seeds(evaluation)
    ract_summary = summary[(summary["detector"] == "rank_discrepancy") & (summary["threshold"] == "gmm")]
    assert len(ract_summary) == 1 and ract_summary["n_seeds"].item() == 2
    assert ract_summary["auroc_mean"].item() == pytest.approx(ract_eval["auroc"].mean())
    assert set(evaluate_by_category(table)["category"]) == {"clean", "ambiguous", "contested"}

    path = write_detections(table, tmp_path / "out" / "detections.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(path), table)
    assert not list(path.parent.glob("*.tmp"))


def _trusted(run_dir: Path) -> pd.Series:
    examples = pd.read_parquet(run_dir / "examples.parquet").set_index("example_id")
    tracked = examples[examples["tracked"]]
    chosen = pd.concat([tracked[tracked["is_noisy"]].head(3), tracked[~tracked["is_noisy"]].head(5)])
    return chosen["is_noisy"]


def test_detect_named_detectors_and_options(run_dirs):
    table = detect(run_dirs[:2], detectors=["rank_discrepancy"], source="inline", window=(0.6, 1.0))
    assert set(table["detector"]) == {"rank_discrepancy"} and len(table) == 90
    everything = detect(run_dirs[:2], detectors=["small_loss"], scope="train")
    assert len(everything) == 2 * 120  # all training items: only the training pass covers them
    with pytest.raises(DataError, match="small_loss needs probe rows for every scored example"):
        detect(run_dirs[:2], detectors=["small_loss"], scope="train", source="probe")
    with pytest.raises(ValueError, match="detectors must be among"):
        detect(run_dirs, detectors=["ract"])
    with pytest.raises(ValueError, match="scope must be one of"):
        detect(run_dirs, scope="all")
    with pytest.raises(DataError, match="confident learning needs out-of-sample probabilities"):
        detect([run_dirs[1]], detectors=["confident_learning"])
    with pytest.raises(DataError, match="no two runs differ only in rank"):
        detect([run_dirs[0]], detectors=["rank_discrepancy"])


def test_runs_compared_must_cover_the_same_examples(tmp_path):
    low = _write_run(tmp_path / "low", rank=4)
    high = _write_run(tmp_path / "high", rank=16, n_tracked=80)
    with pytest.raises(DataError, match=r"runs .*low and .*high cover different examples: 10 only in the first") as err:
        pair_runs([load_run(low), load_run(high)])
    assert err.value.field == "example_id" and "differ only in rank" in err.value.fix


def test_runs_compared_must_share_the_noisy_labels(tmp_path):
    low = _write_run(tmp_path / "low", rank=4)
    high = _write_run(tmp_path / "high", rank=16)
    for name in ("examples.parquet", "dynamics.parquet"):
        frame = pd.read_parquet(high / name)
        flip = (frame["example_id"] == "item-0005") & (frame.get("target", "noisy") == "noisy")
        frame.loc[flip, "label"] = (frame.loc[flip, "label"] + 1) % K
        frame.to_parquet(high / name, index=False)
    with pytest.raises(DataError, match=r"runs .*low and .*high trained on different noisy labels for 1") as err:
        detect([low, high], detectors=["rank_discrepancy"])
    assert err.value.field == "label" and "noise_seed" in err.value.fix


def _edit_run_json(run_dir: Path, **changes) -> None:
    run = json.loads((run_dir / "run.json").read_text())
    for key, value in changes.items():
        target, _, name = key.rpartition("__")
        (run[target] if target else run)[name] = value
    (run_dir / "run.json").write_text(json.dumps(run))


def test_runs_trained_on_different_data_are_not_paired(tmp_path):
    low, high = _write_run(tmp_path / "low", rank=4), _write_run(tmp_path / "high", rank=16)
    _edit_run_json(low, fingerprint={"train_ids": "a", "labels": "b"})
    _edit_run_json(high, fingerprint={"train_ids": "a", "labels": "c"})  # other data files with the same ids
    with pytest.raises(DataError, match=r"trained on different data \(their fingerprints differ in labels\)") as err:
        detect([low, high], detectors=["rank_discrepancy"])
    assert err.value.field == "fingerprint"


def test_runs_of_two_ranks_that_differ_in_more_say_which_rule_failed(tmp_path):
    low, high = _write_run(tmp_path / "low", rank=4), _write_run(tmp_path / "high", rank=16)
    _edit_run_json(high, config__lr=1e-3)
    for detectors in (None, ["rank_discrepancy"]):  # no silent loss of the rank discrepancy column
        with pytest.raises(
            DataError,
            match=r"no two runs differ only in rank: .*low \(rank 4\) and .*high \(rank 16\) also differ in lr",
        ):
            detect([low, high], detectors=detectors)
    assert set(detect([low, high], detectors=["small_loss"])["detector"]) == {"small_loss"}


def test_equal_ranks_are_an_error_and_sweeps_need_ranks(tmp_path):
    first = _write_run(tmp_path / "a", rank=16)
    second = _write_run(tmp_path / "b", rank=16)
    with pytest.raises(DataError, match=r"have equal ranks \(16\)") as err:
        detect([first, second])
    assert err.value.field == "rank" and "low-rank" in err.value.fix
    sweep = [load_run(_write_run(tmp_path / f"r{r}", rank=r)) for r in (4, 8, 16)]
    with pytest.raises(DataError, match=r"RACT pair is ambiguous.*pass ranks"):
        pair_runs(sweep)
    [(low, high)] = pair_runs(sweep, ranks=(4, 16))
    assert (low.config["rank"], high.config["rank"]) == (4, 16)
    with pytest.raises(ValueError, match="ranks must be"):
        pair_runs(sweep, ranks=(16, 16))
    other_seed = load_run(_write_run(tmp_path / "s1", rank=4, seed=1))
    assert pair_runs([sweep[2], other_seed]) == []  # different seeds are not a pair


def test_load_run_checks_its_files(tmp_path):
    run = _write_run(tmp_path / "run", rank=4)
    examples = pd.read_parquet(run / "examples.parquet")
    examples.loc[examples["example_id"] == "item-0003", "label"] += 1
    examples.to_parquet(run / "examples.parquet", index=False)
    with pytest.raises(DataError, match=r"noisy labels of 1 example.*differ from examples.parquet") as err:
        load_run(run)
    assert str(err.value.path).endswith("dynamics.parquet")
    (run / "run.json").unlink()
    with pytest.raises(DataError, match=r"no run.json"):
        load_run(run)
    with pytest.raises(DataError, match=r"trusted id.*not among the scored examples"):
        detect([_write_run(tmp_path / "other", rank=4)], trusted=pd.Series([True, False], index=["x", "item-0001"]))


def test_a_run_without_noise_has_nothing_to_find(tmp_path):
    """A noise-free run records only the original labels, which are the ones it trained on: every detector
    reads them, and its flags are all false alarms."""
    run = _write_run(tmp_path / "clean", rank=16, noise_rate=0.0)
    dynamics = pd.read_parquet(run / "dynamics.parquet")
    dynamics[dynamics["target"] == "original"].to_parquet(run / "dynamics.parquet", index=False)
    table = detect([run], detectors=["small_loss", "disagreement"])
    assert not table["is_noisy"].any() and table["flag_known_rate"].sum() == 0
    evaluation = evaluate(table).set_index(["detector", "threshold"])
    assert evaluation[["recall", "auroc", "average_precision"]].isna().all().all()
    nothing = evaluation.loc[("small_loss", "known_rate")]
    assert nothing["n_flagged"] == 0 and np.isnan(nothing["precision"]) and np.isnan(nothing["f1"])
    gmm = evaluation.loc[("small_loss", "gmm")]
    assert gmm["n_flagged"] > 0 and gmm["precision"] == 0 and gmm["f1"] == 0  # every flag a false alarm


def test_trusted_subsets_from_a_file_or_a_sample(tmp_path, run_dirs):
    path = tmp_path / "trusted.csv"
    path.write_text("example_id,is_noisy\nitem-0001,true\nitem-0002,0\nitem-0003,FALSE\n")
    assert read_trusted(path).to_dict() == {"item-0001": True, "item-0002": False, "item-0003": False}
    bad = tmp_path / "bad.csv"
    bad.write_text("example_id,is_noisy\nitem-0001,true\nitem-0002,maybe\n")
    with pytest.raises(DataError, match=r"bad.csv:3: field 'is_noisy': is_noisy must be true or false, got 'maybe'"):
        read_trusted(bad)
    bad.write_text("example_id,noisy\nitem-0001,true\n")
    with pytest.raises(DataError, match="missing column 'is_noisy'"):
        read_trusted(bad)
    bad.write_text("example_id,is_noisy\nitem-0001,true\nitem-0001,false\n")
    with pytest.raises(DataError, match="'item-0001' repeats"):
        read_trusted(bad)
    with pytest.raises(DataError, match=r"unknown file type '\.txt'"):
        read_trusted(tmp_path / "trusted.txt")

    low, high = load_run(run_dirs[0]), load_run(run_dirs[1])
    sample = trusted_sample(low, 20, seed=3)
    assert len(sample) == 20 and sample.index.isin(low.ids).all()
    np.testing.assert_array_equal(sample.to_numpy(), low.examples.loc[sample.index, "is_noisy"].to_numpy())
    assert trusted_sample(high, 20, seed=3).index.tolist() == sample.index.tolist()  # the same items in every run
    assert trusted_sample(low, 20, seed=4).index.tolist() != sample.index.tolist()
    with pytest.raises(DataError, match=r"a trusted sample of 91 from 90 scored examples.*between 1 and 90"):
        trusted_sample(low, 91)
    table = detect(run_dirs[:2], detectors=["rank_discrepancy"], trusted=20, seed=3)
    calibrated = trusted_threshold(table["score"].to_numpy()[np.isin(low.ids, sample.index)], sample.to_numpy())
    np.testing.assert_array_equal(table["flag_trusted"], table["score"] >= calibrated)


def test_write_results_writes_every_table_as_strict_json(run_dirs, tmp_path):
    table = detect(run_dirs)
    payload = write_results(table, tmp_path / "out")
    tables = evaluation_tables(table)
    assert set(tables) == {"runs", "conditions", "categories"}
    for name, frame in tables.items():
        assert records(pd.read_parquet(tmp_path / "out" / EVALUATION[name])) == records(frame)
        assert len(payload[name]) == len(frame)

    def no_nan(text):
        raise AssertionError(f"non-strict JSON constant {text}")

    written = json.loads((tmp_path / "out" / "evaluation.json").read_text(), parse_constant=no_nan)
    assert written["conditions"] == payload["conditions"]
    single = [r for r in written["conditions"] if r["n_seeds"] == 2 and r["detector"] == "rank_discrepancy"]
    assert single and all(r["f1_sd"] is not None for r in single)
    assert sorted(Path(p).name for p in payload["written"]) == sorted(
        ["detections.parquet", "evaluation.json", *EVALUATION.values()]
    )

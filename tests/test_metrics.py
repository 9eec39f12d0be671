"""Per-example metrics against hand-computed values and against the `aum` package."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from aum import AUMCalculator

from loradyn.metrics import curves
from loradyn.metrics.calibration import expected_calibration_error, prediction_entropy
from loradyn.metrics.datamap import data_map
from loradyn.metrics.margins import aum
from loradyn.train.recorder import example_stats

LOSSES = np.array([[1.0, 0.5, 0.3, 0.4], [0.2, 0.6, 1.0, 1.2], [1.1, 1.1, 1.1, 1.1]])
STEPS = np.array([0, 10, 20, 40])


def test_aulc_mean_and_trapezoid():
    np.testing.assert_allclose(curves.aulc(LOSSES), [0.55, 0.75, 1.1])
    # trapezoid over steps 0, 10, 20, 40, divided by the 40 steps spanned
    first = (10 * (1.0 + 0.5) / 2 + 10 * (0.5 + 0.3) / 2 + 20 * (0.3 + 0.4) / 2) / 40
    np.testing.assert_allclose(curves.aulc(LOSSES, STEPS, method="trapezoid")[0], first)
    with pytest.raises(ValueError, match="steps"):
        curves.aulc(LOSSES, method="trapezoid")


def test_aulc_drops_nan_and_needs_two_points():
    got = curves.aulc(np.array([[1.0, np.nan, 0.4], [np.nan, np.nan, 0.7]]))
    np.testing.assert_allclose(got, [0.7, np.nan])


def test_unlearning_measures():
    np.testing.assert_allclose(curves.delta_loss(LOSSES), [-0.6, 1.0, 0.0])
    np.testing.assert_allclose(curves.late_unlearning(LOSSES), [0.1, 1.0, 0.0])
    # slope over the last half (checkpoints 2 and 3), per step
    np.testing.assert_allclose(curves.late_unlearning(LOSSES, STEPS, kind="slope"), [0.1 / 20, 0.2 / 20, 0.0])
    np.testing.assert_allclose(
        curves.loss_slope(LOSSES, STEPS), [np.polyfit(STEPS, row, 1)[0] for row in LOSSES], atol=1e-15
    )


def test_learned_means_the_argmax_prediction_is_the_label():
    # p_gold 0.45 with the rest split 0.30/0.25 is learned by the argmax rule (p_gold > 0.5 would say not)
    assert curves.learned(np.array([0, 2, 1]), np.array([0, 1, 1])).tolist() == [True, False, True]


def test_first_learned_is_a_step_and_counts_from_the_last_learning():
    correct = np.array(
        [
            [0, 1, 1, 1],  # learned at step 10 and stays
            [1, 0, 1, 1],  # learned, forgotten, learned again at step 20
            [1, 1, 1, 0],  # not learned at the end
            [0, 0, 0, 0],  # never learned
            [0, np.nan, 1, 1],  # a missing cell is skipped
        ]
    )
    np.testing.assert_array_equal(curves.first_learned(correct, STEPS), [10, 20, np.nan, np.nan, 20])


def test_threshold_learning_time_is_the_first_crossing_of_0_693():
    losses = np.array(
        [
            [1.0, 0.5, 0.3, 0.4],  # below at step 10
            [0.2, 0.6, 1.0, 1.2],  # below at step 0, later un-learned: still 0 (the first crossing)
            [1.1, 1.1, 1.1, 1.1],  # never: left out
            [0.7, 0.693, np.nan, 0.69],  # 0.693 is not below; a missing cell is not either
        ]
    )
    np.testing.assert_array_equal(curves.threshold_learning_time(losses, STEPS), [10, 0, np.nan, 40])


def test_learned_then_lost_separates_lost_items_from_never_learned_ones():
    correct = np.array([[0, 1, 0], [0, 0, 0], [1, 1, 1], [1, np.nan, np.nan], [np.nan] * 3])
    np.testing.assert_array_equal(curves.learned_then_lost(correct), [1, 0, 0, 0, np.nan])


def test_forgetting_events_and_never_learned_items():
    correct = np.array([[0, 1, 0, 1, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [1, 0, 0, 1, 1]], dtype=float)
    np.testing.assert_array_equal(curves.forgetting_events(correct), [2, 0, np.inf, 1])
    np.testing.assert_array_equal(curves.forgetting_events(correct, never_learned=0), [2, 0, 0, 1])
    # a missing presentation is skipped: learned, (missing), not learned is one event
    np.testing.assert_array_equal(curves.forgetting_events(np.array([[1, np.nan, 0, 0]])), [1])


def test_data_map_on_a_hand_made_example():
    p_gold = np.array(
        [[0.9, 0.95, 0.9], [0.1, 0.9, 0.2], [0.1, 0.1, 0.15], [0.8, 0.85, 0.8], [0.2, 0.15, 0.2], [0.3, 0.9, 0.5]]
    )
    correct = p_gold > 0.5
    table = data_map(p_gold, correct)
    np.testing.assert_allclose(table["confidence"], p_gold.mean(axis=1))
    np.testing.assert_allclose(table["variability"], p_gold.std(axis=1))
    np.testing.assert_allclose(table["correctness"][:2], [1.0, 1 / 3])
    assert table["region"].tolist() == ["easy", "ambiguous", "hard", "easy", "hard", "ambiguous"]


def test_aum_equals_the_aum_package(tmp_path):
    rng = np.random.default_rng(0)
    n, k, epochs = 40, 4, 5
    targets = torch.as_tensor(rng.integers(0, k, size=n))
    calculator = AUMCalculator(str(tmp_path), compressed=True)
    rows = []
    for epoch in range(epochs):
        logits = torch.as_tensor(rng.normal(size=(n, k)) * 2, dtype=torch.float32)
        calculator.update(logits, targets, list(range(n)))
        rows.append(
            pd.DataFrame({"example_id": range(n), "epoch": epoch, "margin": example_stats(logits, targets)["margin"]})
        )
    calculator.finalize()
    expected = pd.read_csv(tmp_path / "aum_values.csv").set_index("sample_id")["aum"].sort_index()
    ours = aum(pd.concat(rows))
    np.testing.assert_allclose(ours.to_numpy(), expected.to_numpy(), atol=1e-6)


def test_calibration_against_hand_computed_values():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.3, 0.7]])
    labels = np.array([0, 1, 0, 1])
    # 15 bins: 0.9 -> bin 13, 0.8 -> bin 11, 0.6 -> bin 8, 0.7 -> bin 10; one item each
    expected = (abs(1 - 0.9) + abs(0 - 0.8) + abs(1 - 0.6) + abs(1 - 0.7)) / 4
    assert expected_calibration_error(probs.max(1), probs.argmax(1) == labels) == pytest.approx(expected)
    np.testing.assert_allclose(prediction_entropy(np.array([[0.5, 0.5], [1.0, 0.0]])), [np.log(2), 0.0])

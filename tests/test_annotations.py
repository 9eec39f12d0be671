import math

import numpy as np
import pytest
from scipy.stats import entropy as scipy_entropy

from loradyn.data import annotations as ann


def test_entropy_of_a_hand_made_count_vector():
    expected = -(0.5 * math.log(0.5) + 0.3 * math.log(0.3) + 0.2 * math.log(0.2))
    assert ann.annotation_entropy(np.array([[50, 30, 20]]))[0] == pytest.approx(expected, abs=1e-12)


def test_entropy_units_and_zero_classes_against_scipy():
    counts = np.array([[100, 0, 0], [0, 67, 33], [34, 33, 33], [1, 2, 97], [50, 50, 0]])
    nats = ann.annotation_entropy(counts)
    np.testing.assert_allclose(nats, scipy_entropy(counts, axis=1), atol=1e-12)
    np.testing.assert_allclose(ann.annotation_entropy(counts, unit="bits"), scipy_entropy(counts, base=2, axis=1))
    assert nats[0] == 0.0
    assert nats.max() <= math.log(3)


def test_unknown_unit_is_rejected():
    with pytest.raises(ValueError, match="nats"):
        ann.annotation_entropy(np.array([[1, 1]]), unit="dits")


def test_soft_labels_and_majority_confidence():
    counts = np.array([[4, 67, 29], [10, 0, 0]])
    np.testing.assert_allclose(ann.soft_labels(counts), [[0.04, 0.67, 0.29], [1, 0, 0]])
    np.testing.assert_allclose(ann.majority_confidence(counts), [0.67, 1.0])


def test_tie_rule_takes_the_first_class_in_order():
    counts = np.array([[40, 40, 20], [10, 45, 45], [33, 34, 33], [45, 10, 45], [50, 50, 0]])
    np.testing.assert_array_equal(ann.majority_label(counts), [0, 1, 1, 0, 0])


def test_runner_up_excludes_the_given_label_and_breaks_ties_in_order():
    counts = np.array([[60, 30, 10], [60, 30, 10], [20, 40, 40], [0, 100, 0]])
    np.testing.assert_array_equal(ann.runner_up_label(counts, np.array([0, 1, 1, 1])), [1, 0, 2, 0])


def test_categories_use_the_papers_thresholds_in_nats():
    got = ann.entropy_category(np.array([0.0, 0.3999, 0.4, 0.6999, 0.7, 1.09]))
    assert got.tolist() == ["clean", "clean", "ambiguous", "ambiguous", "contested", "contested"]


@pytest.mark.parametrize("counts", [[[0, 0, 0]], [[1, -1, 3]], [[np.nan, 1, 1]]])
def test_invalid_counts_are_rejected(counts):
    with pytest.raises(ValueError, match="row 0"):
        ann.soft_labels(np.array(counts, dtype=float))


def test_stratified_split_sizes_and_strata():
    strata = np.array(["clean"] * 50 + ["ambiguous"] * 30 + ["contested"] * 20)
    train, test = ann.stratified_split(strata, seed=42)
    assert (len(train), len(test)) == (80, 20)
    assert set(train).isdisjoint(test)
    assert {c: int(np.sum(strata[test] == c)) for c in ann.CATEGORIES} == {"clean": 10, "ambiguous": 6, "contested": 4}
    again, _ = ann.stratified_split(strata, seed=42)
    np.testing.assert_array_equal(train, again)
    assert not np.array_equal(train, ann.stratified_split(strata, seed=7)[0])

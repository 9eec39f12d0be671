import numpy as np
import pytest
from scipy.stats import chisquare

from loradyn.data import inject_noise, load_chaosnli


@pytest.mark.parametrize("n", [7, 100, 1211, 5000])
@pytest.mark.parametrize("rate", [0.0, 0.1, 0.25, 0.3, 0.45, 0.999])
def test_symmetric_rate_is_exact_and_flips_always_change_the_label(n, rate):
    labels = np.random.default_rng(n).integers(0, 4, size=n)
    noisy = inject_noise(labels, rate=rate, n_classes=4, seed=1)
    assert noisy.is_noisy.sum() == round(rate * n)
    np.testing.assert_array_equal(noisy.labels != labels, noisy.is_noisy)


def test_symmetric_targets_are_uniform_over_other_classes():
    labels = np.zeros(30_000, dtype=int)
    noisy = inject_noise(labels, rate=0.5, n_classes=4, seed=0)
    targets = np.bincount(noisy.labels[noisy.is_noisy], minlength=4)
    assert targets[0] == 0
    assert chisquare(targets[1:]).pvalue > 0.001
    np.testing.assert_allclose(noisy.transition[0], [0.5, *(targets[1:] / 30_000)])


def test_seed_reproduces_and_changes_the_flips():
    labels = np.arange(1000) % 3
    a, b, c = (inject_noise(labels, rate=0.3, seed=s) for s in (5, 5, 6))
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.is_noisy, c.is_noisy)


def test_asymmetric_map_and_transition_matrix():
    labels = np.repeat([0, 1, 2, 3], 250)
    class_map = {0: 1, 1: 0, 2: 2, 3: 3}  # swap World and Sports, keep the rest
    noisy = inject_noise(labels, rate=0.2, kind="asymmetric", class_map=class_map, seed=3)
    assert noisy.is_noisy.sum() == 200
    assert set(labels[noisy.is_noisy]) <= {0, 1}
    np.testing.assert_array_equal(noisy.labels[noisy.is_noisy], 1 - labels[noisy.is_noisy])
    n01 = int(np.sum(noisy.is_noisy & (labels == 0)))
    np.testing.assert_allclose(noisy.transition[0], [1 - n01 / 250, n01 / 250, 0, 0])
    np.testing.assert_allclose(noisy.transition[2:], [[0, 0, 1, 0], [0, 0, 0, 1]])
    with pytest.raises(ValueError, match="only 500 items"):
        inject_noise(labels, rate=0.6, kind="asymmetric", class_map=class_map)


def test_human_noise_goes_to_the_runner_up_vote_on_real_chaosnli(data_dir):
    chaos = load_chaosnli("snli", data_dir=data_dir)
    noisy = inject_noise(chaos.labels, rate=0.3, kind="human", counts=chaos.counts, seed=0)
    assert noisy.is_noisy.sum() == round(0.3 * 1514)
    counts = chaos.counts.astype(float)
    flipped = np.flatnonzero(noisy.is_noisy)
    for i in flipped[:50]:
        others = counts[i].copy()
        others[chaos.labels[i]] = -1
        assert noisy.labels[i] == int(np.argmax(others))
    assert (noisy.labels[flipped] != chaos.labels[flipped]).all()


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_rate_outside_the_unit_interval(rate):
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        inject_noise(np.array([0, 1, 2]), rate=rate)


@pytest.mark.parametrize("class_map", [{0: 1, 1: 1, 2: 0}, {0: 1, 1: 2}, {0: 1, 1: 2, 2: 3}, None])
def test_class_map_must_be_a_permutation(class_map):
    with pytest.raises(ValueError, match="class_map"):
        inject_noise(np.array([0, 1, 2]), rate=0.3, kind="asymmetric", class_map=class_map, n_classes=3)


def test_human_noise_needs_counts():
    with pytest.raises(ValueError, match="annotator counts"):
        inject_noise(np.array([0, 1]), rate=0.5, kind="human")

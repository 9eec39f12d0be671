"""Seeded label-noise injection: symmetric, asymmetric (a class-to-class map) and human-like over a whole set
(`inject_noise`), and the first study's flips of clean items (`clean_item_noise`).

A flipped label never equals the original.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from loradyn.data.annotations import runner_up_label
from loradyn.errors import DataError

NoiseKind = Literal["symmetric", "asymmetric", "human"]
NOISE_KINDS = ("symmetric", "asymmetric", "human")


@dataclass(frozen=True)
class NoisyLabels:
    """The result of `inject_noise`.

    Attributes
    ----------
    labels : (N,) int
        The noisy labels.
    is_noisy : (N,) bool
        The ground-truth mask: True where the label was flipped.
    transition : (K, K) float
        The realised transition matrix: row ``i`` is the distribution of noisy labels among items whose
        original label is ``i`` (rows of absent classes are zero).
    """

    labels: np.ndarray
    is_noisy: np.ndarray
    transition: np.ndarray

    @property
    def rate(self) -> float:
        return float(self.is_noisy.mean())


def inject_noise(
    labels: np.ndarray,
    *,
    rate: float,
    kind: NoiseKind = "symmetric",
    n_classes: int | None = None,
    class_map: Mapping[int, int] | None = None,
    counts: np.ndarray | None = None,
    seed: int = 0,
) -> NoisyLabels:
    """Flip ``round(rate * N)`` of ``labels`` (shape ``(N,)``).

    Parameters
    ----------
    rate
        Share of labels to flip, in ``[0, 1)``.
    kind
        ``"symmetric"``: to one of the other classes, uniformly. ``"asymmetric"``: class ``i`` becomes
        ``class_map[i]``; the map must be a permutation of the classes, and only items of classes it moves can
        be flipped. ``"human"``: to the most voted other class in ``counts`` (shape ``(N, K)``), i.e. the
        runner-up that annotators chose, ties broken in class order.
    n_classes
        ``K``; defaults to ``counts.shape[1]``, else the length of ``class_map``, else ``labels.max() + 1``.
    seed
        Seeds a ``numpy.random.default_rng``; the same seed gives the same flips.
    """
    labels = np.asarray(labels, dtype=int)
    if not 0 <= rate < 1:
        raise DataError(f"noise rate must be in [0, 1), got {rate}", field="rate", fix="give a share such as 0.3")
    if kind not in NOISE_KINDS:
        raise DataError(
            f"noise kind must be one of {NOISE_KINDS}, got {kind!r}", field="kind", fix=f"use {', '.join(NOISE_KINDS)}"
        )
    k = n_classes or (counts.shape[1] if counts is not None else len(class_map) if class_map else labels.max() + 1)
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"labels must lie in [0, {k}), got values in [{labels.min()}, {labels.max()}]")
    rng = np.random.default_rng(seed)
    n_flips = round(rate * len(labels))

    if kind == "symmetric":
        if k < 2:
            raise ValueError("symmetric noise needs at least 2 classes")
        eligible = np.arange(len(labels))
    elif kind == "asymmetric":
        target = _permutation(class_map, k)
        eligible = np.flatnonzero(target[labels] != labels)
    else:
        if counts is None or len(counts) != len(labels):
            raise ValueError("human-like noise needs annotator counts of shape (N, K) for the N labels")
        target_of_item = runner_up_label(counts, labels)
        eligible = np.arange(len(labels))
    if n_flips > len(eligible):
        raise DataError(
            f"cannot flip {n_flips} labels: only {len(eligible)} items have a class the map moves",
            field="rate",
            fix=f"lower the rate to at most {len(eligible) / max(len(labels), 1):.3g}, or move more classes",
        )

    flipped = np.sort(rng.choice(eligible, size=n_flips, replace=False))
    noisy = labels.copy()
    if kind == "symmetric":
        # An offset in 1..K-1 added modulo K is uniform over the other classes and never the original.
        noisy[flipped] = (labels[flipped] + rng.integers(1, k, size=n_flips)) % k
    elif kind == "asymmetric":
        noisy[flipped] = target[labels[flipped]]
    else:
        noisy[flipped] = target_of_item[flipped]
    is_noisy = np.zeros(len(labels), dtype=bool)
    is_noisy[flipped] = True
    return NoisyLabels(noisy, is_noisy, _transition(labels, noisy, k))


#: The first study's noise conditions, in the order it ran them from one ``RandomState(seed)`` stream per seed.
STUDY1_NOISE_RATES = (0.3, 0.6)


def clean_item_noise(
    labels: np.ndarray,
    entropy: np.ndarray,
    *,
    rate: float,
    n_classes: int,
    seed: int,
    clean_below: float = 0.4,
) -> NoisyLabels:
    """The first study's noise injection: flip ``int(rate * n_clean)`` of the clean items (entropy below
    ``clean_below`` nats) to a uniformly drawn other class; the other items keep their labels.

    ``labels`` and ``entropy`` (shape ``(N,)``) are the tracked items in the study's order (`Examples.split`),
    because the draw picks positions from that list: ``RandomState(seed).choice(clean, n, replace=False)``, then
    one ``choice`` of the other classes per flipped item, in draw order. The study ran its conditions
    (`STUDY1_NOISE_RATES`) in order from one stream per seed, so a rate first replays the draws of the smaller
    study rates before it (0.6 comes after 0.3's draws); with the run seed as ``seed`` this reproduces its flips.
    """
    labels = np.asarray(labels, dtype=int)
    entropy = np.asarray(entropy, dtype=float)
    if labels.shape != entropy.shape:
        raise ValueError(f"labels and entropy must have one shape, got {labels.shape} and {entropy.shape}")
    if not 0 <= rate < 1:
        raise ValueError(f"noise rate must be in [0, 1), got {rate}")
    clean = np.flatnonzero(entropy < clean_below)
    rng = np.random.RandomState(seed)
    for earlier in [r for r in STUDY1_NOISE_RATES if r < rate]:
        _flip_clean(labels, clean, earlier, n_classes, rng)
    noisy, flipped = _flip_clean(labels, clean, rate, n_classes, rng)
    is_noisy = np.zeros(len(labels), dtype=bool)
    is_noisy[flipped] = True
    return NoisyLabels(noisy, is_noisy, _transition(labels, noisy, n_classes))


def _flip_clean(
    labels: np.ndarray, clean: np.ndarray, rate: float, n_classes: int, rng: np.random.RandomState
) -> tuple[np.ndarray, np.ndarray]:
    noisy = labels.copy()
    flipped = rng.choice(clean, size=int(len(clean) * rate), replace=False) if rate > 0 else clean[:0]
    for i in flipped:
        noisy[i] = rng.choice([c for c in range(n_classes) if c != labels[i]])
    return noisy, flipped


def _permutation(class_map: Mapping[int, int] | None, k: int) -> np.ndarray:
    example = ", ".join(f"{i}: {(i + 1) % k}" for i in range(k))
    if not class_map:
        raise DataError("asymmetric noise needs a class map", field="class_map", fix=f"give one, e.g. {{{example}}}")
    if sorted(class_map) != list(range(k)) or sorted(class_map.values()) != list(range(k)):
        raise DataError(
            f"class_map must be a permutation of the classes 0..{k - 1} (each class once as a key and once as a "
            f"value), got {dict(class_map)}",
            field="class_map",
            fix=f"map every class once, e.g. {{{example}}}",
        )
    return np.array([class_map[i] for i in range(k)])


def _transition(original: np.ndarray, noisy: np.ndarray, k: int) -> np.ndarray:
    counts = np.zeros((k, k))
    np.add.at(counts, (original, noisy), 1)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)

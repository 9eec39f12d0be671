"""The first study's recipe, checked against its code's behaviour (BradySteele/lora-annotation-dynamics): the split,
the bulk draw, the schedule, the batches, segment ids, IA3 modules, class weights and the clean-item noise."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from test_train import small

from loradyn.data import load_chaosnli
from loradyn.data.annotations import annotation_entropy
from loradyn.data.noise import clean_item_noise
from loradyn.train.batches import epoch_batches, micro_batches
from loradyn.train.recipe import class_weights, warmup_cosine
from loradyn.train.rundata import build_run_data
from loradyn.train.runner import Run, RunProgress

DATA = Path(__file__).parent / "data"


def author_ids(part: str) -> list[str]:
    lines = (DATA / f"author_split_{part}.txt").read_text().splitlines()
    return [line for line in lines if not line.startswith("#")]


@pytest.mark.parametrize(("part", "n_tracked", "n_held_out"), [("snli", 1211, 303), ("mnli", 1279, 320)])
def test_the_split_is_the_authors_item_for_item_and_in_order(data_dir, part, n_tracked, n_held_out):
    tracked, held_out = load_chaosnli(part, data_dir=data_dir).split()
    assert (len(tracked), len(held_out)) == (n_tracked, n_held_out)
    assert tracked.ids.tolist() == author_ids(part)


def test_the_bulk_draw_is_the_authors_and_the_same_for_every_seed(data_dir):
    runs = [build_run_data(small(data_dir, n_bulk=500, n_tracked=None, seed=s)) for s in (42, 123)]
    bulk = [r.train.frame.loc[r.train.frame["origin"] == "bulk", "example_id"].tolist() for r in runs]
    assert bulk[0] == bulk[1]
    from loradyn.data import load_standard

    snli = load_standard("snli", "train", data_dir=data_dir)
    expected = np.sort(np.random.RandomState(42).choice(len(snli), size=500, replace=False))
    assert bulk[0] == snli.ids[expected].tolist()
    # the tracked items join in the study's order
    assert runs[0].train.frame.loc[runs[0].train.frame["origin"] == "annotated", "example_id"].tolist() == author_ids(
        "snli"
    )


def test_chaosnli_mnli_trains_on_mnli_bulk_unless_told_otherwise(data_dir):
    mnli = build_run_data(small(data_dir, dataset="chaosnli-mnli"))
    bulk_ids = mnli.train.frame.loc[mnli.train.frame["origin"] == "bulk", "example_id"]
    assert bulk_ids.str.startswith("mnli").all(), bulk_ids.head().tolist()
    crossed = build_run_data(small(data_dir, dataset="chaosnli-mnli", bulk="snli"))
    assert crossed.train.frame.loc[crossed.train.frame["origin"] == "bulk", "example_id"].str.startswith("snli").all()


def test_the_schedule_is_the_authors_clamped_cosine():
    total = 3315  # SNLI: 663 batches x 5 epochs; int(0.06 * 3315) = 198 warm-up steps
    lr = [warmup_cosine(s, total_steps=total) for s in (0, 99, 198, 198 + (total - 198) // 2, 3000, 3314)]
    p_3000 = (3000 - 198) / (total - 198)
    expected = [0.0, 0.5, 1.0, 0.5 * (1 + math.cos(math.pi * ((total - 198) // 2) / (total - 198))), 0.1, 0.1]
    assert 0.5 * (1 + math.cos(math.pi * p_3000)) < 0.1  # the clamp holds the floor late in training
    np.testing.assert_allclose(lr, expected, atol=1e-12)
    rescaled = warmup_cosine(3000, total_steps=total, schedule="rescaled_cosine")
    assert rescaled == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p_3000)))


def test_class_weights_as_the_author_computes_them():
    labels = np.array([0] * 6 + [1] * 3 + [2] * 1)
    inverse = np.array([1 / 6, 1 / 3, 1])
    np.testing.assert_allclose(class_weights(labels, 3), inverse / inverse.sum() * 3, rtol=1e-6)
    absent = np.array([1 / 6, 1 / 3, 1 / 1])  # a class with no item counts as one item
    np.testing.assert_allclose(class_weights(labels[:9], 3), absent / absent.sum() * 3, rtol=1e-6)


def test_batches_are_random_by_default():
    lengths = np.arange(640) % 37
    batches = epoch_batches(lengths, batch_size=32, seed=0, epoch=0, group_by_length=False)
    assert np.array_equal(np.concatenate(batches), np.random.default_rng([0, 0]).permutation(640))


def test_micro_batches_are_the_cheapest_cut_of_the_length_sorted_batch():
    import itertools

    lengths = np.array([9, 40, 12, 38, 10, 11, 70, 13])
    positions = np.arange(8)

    def cost(pieces, overhead):
        return sum(overhead + len(p) * lengths[p].max() for p in pieces)

    for overhead in (0, 20, 60, 1000):
        got = micro_batches(positions, lengths, max_size=8, overhead=overhead)
        assert sorted(np.concatenate(got).tolist()) == list(range(8))
        ordered = positions[np.argsort(-lengths, kind="stable")]
        brute = min(
            cost(np.split(ordered, list(cuts)), overhead)
            for k in range(8)
            for cuts in itertools.combinations(range(1, 8), k)
        )
        assert cost(got, overhead) == brute
    assert len(micro_batches(positions, lengths, max_size=8, overhead=1000)) == 1
    assert max(map(len, micro_batches(positions, lengths, max_size=3, overhead=1000))) <= 3
    assert len(micro_batches(positions, lengths, max_size=8, overhead=0, pad_to=128)) == 1  # padded: nothing to gain


def test_length_sorted_micro_batches_give_the_gradient_of_one_padded_batch(data_dir, tmp_path):
    def gradients(**changes):
        run = Run(small(data_dir, batch_size=32, disable_dropout=True, **changes), tmp_path / "unused")
        batch = epoch_batches(run.train_set.lengths, batch_size=32, seed=0, epoch=0, group_by_length=False)[0]
        assert len(set(run.train_set.lengths[batch])) > 8  # a batch of mixed lengths
        loss, _ = run._accumulate(batch, RunProgress(), 0)  # (loss, count of correct predictions)
        return loss, {n: p.grad.clone() for n, p in run.model.named_parameters() if p.requires_grad}

    padded_loss, padded = gradients(padding="max_length", grad_accum=1)
    split_loss, split = gradients(padding="dynamic", grad_accum=4)
    assert split_loss == pytest.approx(padded_loss, rel=1e-5)
    for name, grad in padded.items():
        torch.testing.assert_close(split[name], grad, rtol=1e-4, atol=1e-6, msg=name)
    assert not (tmp_path / "unused").exists()


def test_bert_sees_no_segment_ids_unless_asked(data_dir, tmp_path):
    author = Run(small(data_dir), tmp_path / "a")
    assert author.train_set.token_type_ids is None
    assert "token_type_ids" not in author._batch(author.train_set, np.arange(4))
    paired = Run(small(data_dir, segment_ids=True), tmp_path / "b")
    assert paired._batch(paired.train_set, np.arange(4))["token_type_ids"].max() == 1


def test_ia3_wraps_the_authors_modules(data_dir, tmp_path):
    from peft.tuners.ia3 import IA3Layer

    run = Run(small(data_dir, method="ia3"), tmp_path / "ia3")
    layers = {name.split("encoder.")[-1]: m for name, m in run.model.named_modules() if isinstance(m, IA3Layer)}
    assert {name.split(".", 2)[-1] for name in layers} == {
        "attention.self.query",
        "attention.self.value",
        "intermediate.dense",
    }
    assert all(m.is_feedforward == name.endswith("intermediate.dense") for name, m in layers.items())


def test_decay_applies_to_every_trainable_parameter(data_dir, tmp_path):
    run = Run(small(data_dir), tmp_path / "r")
    (group,) = run.optimizer.param_groups
    assert group["weight_decay"] == 0.01
    assert sum(p.numel() for p in group["params"]) == run.n_trainable


def author_flips(labels, entropy, seed):
    """The first study's loop, transcribed: one RandomState per seed, conditions 0.3 then 0.6 in turn."""
    rng = np.random.RandomState(seed)
    clean = np.where(np.asarray(entropy) < 0.4)[0]
    flipped = {}
    for fraction in (0.3, 0.6):
        noisy = list(labels)
        for i in rng.choice(clean, size=int(len(clean) * fraction), replace=False):
            noisy[i] = rng.choice([c for c in range(3) if c != labels[i]])
        flipped[fraction] = np.array(noisy)
    return flipped


def test_clean_item_noise_reproduces_the_authors_flips(data_dir):
    tracked, _ = load_chaosnli("snli", data_dir=data_dir).split()
    entropy = annotation_entropy(tracked.counts)
    n_clean = int((entropy < 0.4).sum())
    expected = author_flips(tracked.labels, entropy, seed=123)
    for rate in (0.3, 0.6):
        noisy = clean_item_noise(tracked.labels, entropy, rate=rate, n_classes=3, seed=123)
        assert noisy.is_noisy.sum() == int(n_clean * rate)
        assert not noisy.is_noisy[entropy >= 0.4].any()
        np.testing.assert_array_equal(noisy.labels, expected[rate])


def test_a_run_with_the_authors_noise_design(data_dir):
    data = build_run_data(small(data_dir, n_tracked=None, noise_rate=0.3, noise_scope="clean_tracked", seed=456))
    origin = data.train.frame["origin"].to_numpy()
    assert not data.is_noisy[origin == "bulk"].any()
    tracked = data.table[data.table["tracked"]]
    assert data.is_noisy.sum() == int((tracked["entropy"] < 0.4).sum() * 0.3)
    assert (tracked.loc[tracked["is_noisy"], "entropy"] < 0.4).all()
    weights = class_weights(data.train.labels, 3)  # recomputed from the noisy labels
    assert not torch.allclose(weights, class_weights(data.original_labels, 3))

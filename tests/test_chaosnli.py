import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import entropy as scipy_entropy

from loradyn.data import load_chaosnli, read_chaosnli
from loradyn.data.annotations import CATEGORIES
from loradyn.data.examples import NLI, TOPIC, Examples

# Release files keep their own entropy (bits) and majority label: independent references for ours.
FILES = {"snli": "chaosNLI_snli.jsonl", "mnli": "chaosNLI_mnli_m.jsonl"}


def _raw(data_dir, part):
    with open(data_dir / "chaosnli" / FILES[part]) as handle:
        return [json.loads(line) for line in handle]


@pytest.mark.parametrize(("part", "n", "n_train", "n_held_out"), [("snli", 1514, 1211, 303), ("mnli", 1599, 1279, 320)])
def test_real_release_counts_and_paper_split(data_dir, part, n, n_train, n_held_out):
    examples = load_chaosnli(part, data_dir=data_dir)
    assert len(examples) == n
    assert examples.frame["example_id"].is_unique
    assert (examples.counts.sum(axis=1) == 100).all()
    train, held_out = examples.split()
    assert (len(train), len(held_out)) == (n_train, n_held_out)
    assert set(train.ids).isdisjoint(held_out.ids)
    # stratified: each category's share in the held-out part is within one item of its overall share
    overall = examples.annotation_table()["category"].value_counts()
    held = held_out.annotation_table()["category"].value_counts()
    for category in CATEGORIES:
        assert abs(held[category] - overall[category] * n_held_out / n) <= 1


@pytest.mark.parametrize("part", ["snli", "mnli"])
def test_entropy_is_in_nats_and_agrees_with_the_release_in_bits(data_dir, part):
    examples = load_chaosnli(part, data_dir=data_dir)
    raw = _raw(data_dir, part)
    table = examples.annotation_table()
    assert table["entropy"].max() <= math.log(3)
    assert table["entropy"].max() > math.log(2)  # not bits clipped to [0, 1], not log base 10
    np.testing.assert_allclose(table["entropy"], scipy_entropy([r["label_count"] for r in raw], axis=1), atol=1e-12)
    np.testing.assert_allclose(table["entropy"] / math.log(2), [r["entropy"] for r in raw], atol=1e-9)
    np.testing.assert_allclose(
        table[["soft_entailment", "soft_neutral", "soft_contradiction"]], [r["label_dist"] for r in raw]
    )


@pytest.mark.parametrize("part", ["snli", "mnli"])
def test_majority_and_tie_rule_on_real_items(data_dir, part):
    examples = load_chaosnli(part, data_dir=data_dir)
    raw = _raw(data_dir, part)
    counts = examples.counts
    tied = (counts == counts.max(axis=1, keepdims=True)).sum(axis=1) > 1
    assert tied.sum() == 14  # both parts have 14 items whose top vote is shared
    names = np.array(["e", "n", "c"])
    release_majority = np.array([r["majority_label"] for r in raw])
    np.testing.assert_array_equal(names[examples.labels][~tied], release_majority[~tied])
    first_tied = np.argmax(counts == counts.max(axis=1, keepdims=True), axis=1)
    np.testing.assert_array_equal(examples.labels[tied], first_tied[tied])
    gold = np.array([r["old_label"] for r in raw])
    np.testing.assert_array_equal(names[examples.frame["gold_label"]], gold)


def test_alphanli_part_by_its_release_description(tmp_path):
    records = [
        {
            "uid": f"item-{i}",
            "label_counter": {"2": 63 - i, "1": 37 + i},
            "majority_label": 2,
            "label_dist": [(37 + i) / 100, (63 - i) / 100],
            "label_count": [37 + i, 63 - i],
            "entropy": 0.95,
            "example": {"uid": f"item-{i}", "obs1": "o1", "obs2": "o2", "hyp1": "h1", "hyp2": "h2", "source": "x"},
            "old_label": 1 + i % 2,
        }
        for i in range(20)
    ]
    path = tmp_path / "chaosNLI_alphanli.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    examples = read_chaosnli(path, "alphanli")
    assert examples.task.label_names == ("hyp1", "hyp2")
    assert examples.task.text_fields == ("obs1", "obs2", "hyp1", "hyp2")
    np.testing.assert_array_equal(examples.counts[:3], [[37, 63], [38, 62], [39, 61]])
    # 13 votes each way at i = 13 is a tie: hyp1 (class 0) wins by class order
    np.testing.assert_array_equal(examples.labels, [1] * 13 + [0] * 7)
    np.testing.assert_array_equal(examples.frame["gold_label"], [i % 2 for i in range(20)])
    assert examples.annotation_table()["entropy"].max() <= math.log(2) + 1e-12


def test_examples_convert_to_and_from_a_datasets_dataset(data_dir):
    import datasets

    chaos = load_chaosnli("snli", data_dir=data_dir)
    dataset = chaos.to_dataset()
    assert isinstance(dataset, datasets.Dataset) and len(dataset) == 1514
    assert dataset.features["label"].names == ["entailment", "neutral", "contradiction"]
    assert dataset.features["label"].int2str(dataset[0]["label"]) == chaos.task.label_names[chaos.labels[0]]
    back = Examples.from_dataset(dataset)
    assert back.name == chaos.name and back.task == chaos.task
    pd.testing.assert_frame_equal(back.frame, chaos.frame, check_dtype=False)
    pd.testing.assert_frame_equal(back.annotation_table(), chaos.annotation_table())
    # what a user does with datasets in between comes back too
    contested = Examples.from_dataset(
        dataset.filter(lambda row: min(row["votes_entailment"], row["votes_neutral"]) >= 30)
    )
    assert 0 < len(contested) < 1514 and contested.has_votes


def test_a_plain_hub_style_dataset_becomes_examples():
    import datasets

    features = datasets.Features(
        {
            "premise": datasets.Value("string"),
            "hypothesis": datasets.Value("string"),
            "label": datasets.ClassLabel(names=["entailment", "neutral", "contradiction"]),
        }
    )
    rows = {
        "premise": ["A dog runs.", "A cat sleeps."],
        "hypothesis": ["An animal moves.", "A dog barks."],
        "label": [0, 2],
    }
    examples = Examples.from_dataset(datasets.Dataset.from_dict(rows, features=features), name="mine")
    assert examples.task.name == "nli" and examples.ids.tolist() == ["mine-0", "mine-1"]
    assert examples.labels.tolist() == [0, 2] and not examples.has_votes
    topics = datasets.Dataset.from_dict({"text": ["x"], "label": [0]})
    with pytest.raises(ValueError, match="cannot tell the task"):
        Examples.from_dataset(topics)
    assert Examples.from_dataset(topics, TOPIC).labels.tolist() == [0]
    with pytest.raises(ValueError, match=r"label must hold class indices 0\.\.3"):
        Examples.from_dataset(datasets.Dataset.from_dict({"text": ["x"], "label": [7]}), TOPIC)
    with pytest.raises(ValueError, match="no column premise"):
        Examples.from_dataset(topics, NLI)

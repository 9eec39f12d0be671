import pytest

from loradyn.data import load_standard


@pytest.mark.parametrize(
    ("name", "split", "n", "first_label"),
    [
        ("snli", "train", 18_000, 1),
        ("snli", "validation", 9_842, None),
        ("snli", "test", 2_000, None),
        ("mnli", "train", 19_996, 1),
        ("mnli", "validation_matched", 9_815, None),
        ("ag-news", "train", 5_000, 3),
        ("ag-news", "test", 7_600, None),
    ],
)
def test_real_splits_load_with_stable_ids(data_dir, name, split, n, first_label):
    examples = load_standard(name, split, data_dir=data_dir)
    assert len(examples) == n
    assert examples.frame["example_id"].is_unique
    assert examples.ids[0] == f"{name}-{split}-0"
    assert set(examples.labels) == set(range(len(examples.task.label_names)))
    if first_label is not None:
        assert examples.labels[0] == first_label
    for field in examples.task.text_fields:
        assert examples.frame[field].str.len().min() > 0


def test_ag_news_is_a_four_way_topic_task(data_dir):
    examples = load_standard("ag-news", "test", data_dir=data_dir)
    assert examples.task.label_names == ("World", "Sports", "Business", "Sci/Tech")
    assert examples.task.text_fields == ("text",)
    assert examples.frame.groupby("label").size().tolist() == [1900] * 4


def test_unknown_names_and_splits():
    with pytest.raises(ValueError, match="unknown dataset"):
        load_standard("imdb", "train")
    with pytest.raises(ValueError, match="validation_matched"):
        load_standard("mnli", "validation")

import json

import numpy as np
import pytest

from loradyn.data import read_annotated


def test_csv_with_count_columns(tmp_path):
    path = tmp_path / "votes.csv"
    path.write_text('id,text,yes,no,gold\nq1,"is it, though?",3,1,yes\nq2,sure,2,2,no\nq3,nope,0,5,no\n')
    examples = read_annotated(path, text_fields=["text"], count_fields=["yes", "no"], id_field="id", gold_field="gold")
    assert examples.task.label_names == ("yes", "no")
    assert examples.ids.tolist() == ["q1", "q2", "q3"]
    np.testing.assert_array_equal(examples.counts, [[3, 1], [2, 2], [0, 5]])
    np.testing.assert_array_equal(examples.labels, [0, 0, 1])  # q2 is a tie: "yes" comes first
    np.testing.assert_array_equal(examples.frame["gold_label"], [0, 1, 1])
    assert examples.frame["text"][0] == "is it, though?"
    np.testing.assert_allclose(examples.annotation_table()["entropy"][1], np.log(2), atol=1e-12)


def test_jsonl_with_annotator_label_lists(tmp_path):
    path = tmp_path / "items.jsonl"
    rows = [
        {"premise": "a", "hypothesis": "b", "annotations": ["pos", "neg", "pos"]},
        {"premise": "c", "hypothesis": "d", "annotations": ["neu", "neu", "neg", "neu"]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    examples = read_annotated(path, text_fields=["premise", "hypothesis"], labels_field="annotations")
    assert examples.task.label_names == ("neg", "neu", "pos")  # sorted labels seen
    np.testing.assert_array_equal(examples.counts, [[1, 0, 2], [1, 3, 0]])
    assert examples.ids.tolist() == ["items-1", "items-2"]
    assert (examples.frame["gold_label"] == -1).all()


def test_csv_label_lists_and_explicit_label_names(tmp_path):
    path = tmp_path / "items.tsv"
    path.write_text('text\tlabels\nfirst\ta|b|b\nsecond\t["c", "a"]\n')
    examples = read_annotated(path, text_fields=["text"], labels_field="labels", label_names=["a", "b", "c", "d"])
    np.testing.assert_array_equal(examples.counts, [[1, 2, 0, 0], [1, 0, 1, 0]])
    np.testing.assert_array_equal(examples.labels, [1, 0])


def test_exactly_one_annotation_shape(tmp_path):
    with pytest.raises(ValueError, match="exactly one"):
        read_annotated(tmp_path / "x.csv", text_fields=["text"])


def test_a_label_list_given_as_comma_separated_text_is_split(tmp_path):
    path = tmp_path / "items.jsonl"
    rows = [{"text": "a", "ann": "0,1,1"}, {"text": "b", "ann": "1, 1, 1"}, {"text": "c", "ann": "0|0|1"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    examples = read_annotated(path, text_fields=["text"], labels_field="ann")
    assert examples.task.label_names == ("0", "1")  # not one class per string, with entropy 0 everywhere
    np.testing.assert_array_equal(examples.counts, [[1, 2], [0, 3], [2, 1]])
    assert examples.annotation_table()["entropy"].iloc[0] > 0


def test_integer_and_text_labels_are_read_by_one_rule(tmp_path):
    """A label names a class first and is an index only when no class has that name: 1 and "1" agree."""
    path = tmp_path / "items.jsonl"
    rows = [{"text": "a", "ann": [1, 1, 2], "gold": 2}, {"text": "b", "ann": ["1", "1", "2"], "gold": "2"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    examples = read_annotated(path, text_fields=["text"], labels_field="ann", label_names=["1", "2"], gold_field="gold")
    np.testing.assert_array_equal(examples.counts, [[2, 1], [2, 1]])  # the same votes from integers and text
    np.testing.assert_array_equal(examples.labels, [0, 0])
    np.testing.assert_array_equal(examples.frame["gold_label"], [1, 1])
    by_index = tmp_path / "index.jsonl"  # with class names that are not numbers, integers are 0-based indices
    by_index.write_text(json.dumps({"text": "a", "ann": [0, 1, 1]}) + "\n")
    named = read_annotated(by_index, text_fields=["text"], labels_field="ann", label_names=["neg", "pos"])
    np.testing.assert_array_equal(named.counts, [[1, 2]])

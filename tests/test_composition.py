import numpy as np
import pytest

from loradyn.data import compose, load_chaosnli, load_standard


@pytest.fixture(scope="module")
def parts(data_dir):
    return load_chaosnli("snli", data_dir=data_dir), load_standard("snli", "train", data_dir=data_dir)


def test_study1_composition(parts):
    chaos, bulk = parts
    c = compose(chaos, bulk, n_bulk=500, seed=123)
    assert len(c.train) == 500 + 1211
    assert len(c.tracked_ids) == 1211 and len(c.validation) == 303
    assert c.train.frame["example_id"].is_unique
    assert c.train.frame["origin"].value_counts().to_dict() == {"annotated": 1211, "bulk": 500}
    tracked = c.train.frame[c.train.frame["origin"] == "annotated"]
    assert tuple(tracked["example_id"]) == c.tracked_ids
    majority = chaos.frame.set_index("example_id").loc[list(c.tracked_ids), "label"].to_numpy()
    np.testing.assert_array_equal(tracked["label"], majority)
    assert set(c.tracked_ids).isdisjoint(c.validation.ids)
    assert c.annotations["split"].value_counts().to_dict() == {"train": 1211, "held_out": 303}


def test_seed_changes_the_bulk_sample_not_the_tracked_split(parts):
    chaos, bulk = parts
    a, b, a_again = (compose(chaos, bulk, n_bulk=300, seed=s) for s in (42, 456, 42))
    assert a.tracked_ids == b.tracked_ids
    assert a.train.frame.equals(a_again.train.frame)
    assert set(a.train.ids) != set(b.train.ids)


def test_drawn_bulk_items_equal_to_chaos_items_are_dropped_after_the_authors_draw(parts):
    chaos, bulk = parts
    authors = np.sort(np.random.RandomState(42).choice(len(bulk), size=300, replace=False))  # his code's draw
    leaked = bulk.take(range(len(bulk)))
    at = [authors[5], authors[100], 7 if 7 not in authors else 8]  # two drawn items and one not drawn
    leaked.frame.loc[at, ["premise", "hypothesis"]] = chaos.frame[["premise", "hypothesis"]].iloc[:3].to_numpy()
    c = compose(chaos, leaked, n_bulk=300, seed=42)
    kept = c.train.frame.loc[c.train.frame["origin"] == "bulk", "example_id"]
    assert list(kept) == list(bulk.ids[np.delete(authors, [5, 100])])  # every other drawn item is the author's
    assert len(c.train) == 298 + 1211
    assert len(compose(chaos, leaked, n_bulk=None).train) == len(bulk) - 3 + 1211  # all: every unshared item


def test_paper_default_asks_for_more_bulk_than_the_local_subset_has(parts):
    chaos, bulk = parts
    with pytest.raises(ValueError, match="n_bulk=20000 but snli/train has 18000 items"):
        compose(chaos, bulk)

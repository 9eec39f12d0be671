"""What a run trains on versus what it tracks: entropy buckets, K-fold held-out folds, excluded and down-weighted
examples (tracked items need not be training items)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from test_train import small

from loradyn.analyze import analyze
from loradyn.data.annotations import CATEGORIES
from loradyn.errors import DataError
from loradyn.store import read_dynamics
from loradyn.train.rundata import build_run_data
from loradyn.train.runner import Run, RunProgress, train


def test_an_entropy_bucket_trains_on_its_category_and_tracks_every_item(data_dir, tmp_path):
    config = small(
        data_dir, train_categories=["clean"], n_tracked=None, n_bulk=32, epochs=1, batch_size=64, probe_every=100
    )
    data = build_run_data(config)
    table = data.table[data.table["split"] == "train"].set_index("example_id")
    chaos = table[table["origin"] == "annotated"]
    assert len(chaos) == chaos["tracked"].sum() == 1211
    assert (chaos["weight"] == (chaos["category"] == "clean")).all()
    assert (table.loc[table["origin"] == "bulk", "weight"] == 1).all()
    run = train(config, tmp_path / "clean-only", show_progress=False)
    assert run["data"]["n_train"] == 32 + (chaos["category"] == "clean").sum()
    dynamics = read_dynamics(tmp_path / "clean-only")
    assert dynamics.query("mode == 'probe'")["example_id"].nunique() == 1211
    inline = set(dynamics.query("mode == 'inline'")["example_id"])
    assert inline == set(table.index[table["weight"] > 0])


def test_the_balanced_bucket_trains_as_many_items_of_each_category(data_dir):
    data = build_run_data(small(data_dir, train_categories="balanced", n_tracked=None, n_bulk=32))
    table = data.table[data.table["split"] == "train"]
    chaos = table[table["origin"] == "annotated"]
    sizes = chaos["category"].value_counts()
    trained = chaos.loc[chaos["weight"] > 0, "category"].value_counts()
    assert trained.to_dict() == dict.fromkeys(("clean", "ambiguous", "contested"), sizes.min())
    assert (table.loc[table["origin"] == "bulk", "weight"] == 1).all() and chaos["tracked"].all()
    rng = np.random.RandomState(42)  # the author's draw: one RandomState(42), category by category
    expected = [rng.choice(np.flatnonzero(chaos["category"] == c), sizes.min(), replace=False) for c in CATEGORIES]
    assert set(chaos["example_id"].iloc[np.concatenate(expected)]) == set(chaos.loc[chaos["weight"] > 0, "example_id"])
    again = build_run_data(small(data_dir, train_categories="balanced", n_tracked=None, n_bulk=32, seed=7))
    assert (again.weights == data.weights).all()  # the same draw for every run seed
    with pytest.raises(ValueError, match="train_categories must be a list of categories or 'balanced'"):
        small(data_dir, train_categories="even")


def test_k_fold_holds_out_and_tracks_one_stratified_fold(data_dir):
    runs = [
        build_run_data(small(data_dir, dataset="ag-news", n_bulk=200, n_tracked=None, folds=4, fold=k))
        for k in range(4)
    ]
    held_out = [set(r.train.ids[r.tracked]) for r in runs]
    assert set().union(*held_out) == set(runs[0].train.ids) and sum(map(len, held_out)) == 200
    for r in runs:
        assert (r.weights[r.tracked] == 0).all() and (np.delete(r.weights, r.tracked) == 1).all()
        counts = np.bincount(r.train.labels[r.tracked], minlength=4)
        assert np.abs(counts - np.bincount(r.train.labels, minlength=4) / 4).max() <= 1  # stratified by label
    with pytest.raises(DataError, match="5 folds need at least 5 training examples of every class"):
        build_run_data(small(data_dir, dataset="ag-news", n_bulk=12, n_tracked=None, folds=5, fold=0))
    with pytest.raises(ValueError, match="folds and fold go together"):
        small(data_dir, folds=3)


def test_excluded_and_down_weighted_examples(data_dir, tmp_path):
    base = build_run_data(small(data_dir))
    ids = base.train.ids
    data = build_run_data(small(data_dir, exclude_ids=list(ids[:5]), downweight_ids=list(ids[5:10]), downweight=0.25))
    np.testing.assert_array_equal(data.weights[:10], [0] * 5 + [0.25] * 5)
    with pytest.raises(DataError, match=r"exclude_ids.*not training examples"):
        build_run_data(small(data_dir, exclude_ids=["no-such-id"]))

    run = Run(small(data_dir, disable_dropout=True, downweight_ids=list(ids[:40]), downweight=0.25), tmp_path / "w")
    batch = np.arange(32)
    loss, _ = run._accumulate(batch, RunProgress(), 0)
    run.model.train()
    inputs = {k: v for k, v in run._batch(run.train_set, batch).items() if k != "labels"}
    with torch.no_grad():
        logits = run.model(**inputs).logits
    labels = torch.as_tensor(run.train_set.labels[batch])
    weight = run.objective.class_weights[labels] * torch.where(torch.as_tensor(batch) < 40, 0.25, 1.0)
    expected = (F.cross_entropy(logits, labels, reduction="none") * weight).sum() / weight.sum()
    assert loss == pytest.approx(float(expected), rel=1e-4)
    assert not pd.isna(loss)


def test_train_on_a_noise_inject_folder_keeps_the_truth(data_dir, tmp_path):
    from typer.testing import CliRunner

    from loradyn.cli import app

    folder = tmp_path / "agnews-noisy"
    result = CliRunner().invoke(
        app, ["noise", "inject", "ag-news", "--rate", "0.3", "--out", str(folder), "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.output
    truth = pd.read_parquet(folder / "examples.parquet").set_index("example_id")
    config = small(data_dir, dataset=str(folder), n_bulk=48, n_tracked=16, n_validation=32, epochs=1, max_length=48)
    data = build_run_data(config)
    train_rows = data.table[data.table["split"] == "train"].set_index("example_id")
    np.testing.assert_array_equal(train_rows["is_noisy"], truth.loc[train_rows.index, "is_noisy"])
    np.testing.assert_array_equal(train_rows["label"], truth.loc[train_rows.index, "label"])
    np.testing.assert_array_equal(train_rows["original_label"], truth.loc[train_rows.index, "original_label"])
    assert 0 < train_rows["is_noisy"].sum() < 48
    run = train(config, tmp_path / "run", show_progress=False)
    assert run["data"]["n_noisy"] == train_rows["is_noisy"].sum()
    with pytest.raises(ValueError, match="already has injected noise"):
        build_run_data(small(data_dir, dataset=str(folder), noise_rate=0.1))


def test_train_on_a_users_multi_annotator_file(data_dir, tmp_path):
    rng = np.random.default_rng(0)
    yes = rng.integers(0, 11, size=80)
    frame = pd.DataFrame(
        {"id": [f"q{i}" for i in range(80)], "text": [f"item number {i} " * (1 + i % 5) for i in range(80)]}
    ).assign(yes=yes, no=10 - yes)
    frame.loc[0, "no"] = 10 - frame.loc[0, "yes"] if frame.loc[0, "yes"] else 3
    path = tmp_path / "votes.csv"
    frame.to_csv(path, index=False)
    mapping = {"text_fields": ["text"], "count_fields": ["yes", "no"], "id_field": "id"}
    config = small(data_dir, dataset=str(path), data_mapping=mapping, n_tracked=None, n_validation=None, epochs=1)
    data = build_run_data(config)
    assert (data.train.frame["origin"] == "annotated").all()  # no bulk set for a user's own task
    assert len(data.train) + len(data.validation) == 80 and len(data.tracked) == len(data.train)
    categories = data.table.dropna(subset=["category"])
    low, high = 0.4 * np.log(2) / np.log(3), 0.7 * np.log(2) / np.log(3)  # thresholds scaled to two classes
    expected = np.where(
        categories["entropy"] < low, "clean", np.where(categories["entropy"] < high, "ambiguous", "contested")
    )
    np.testing.assert_array_equal(categories["category"], expected)
    run = train(config, tmp_path / "run", show_progress=False)
    assert run["data"]["n_tracked"] == len(data.tracked)
    with pytest.raises(ValueError, match="data_mapping has an unknown key 'text'"):
        small(data_dir, dataset=str(path), data_mapping={"text": ["text"]})


def test_chaosnli_alphanli_trains_with_no_bulk_and_is_analysed(data_dir, tmp_path):
    """The author's alphaNLI design on the real release file: the ChaosNLI items alone (no standard train split to
    draw bulk from), two classes, the category thresholds scaled by ln 2 / ln 3."""
    data = build_run_data(small(data_dir, dataset="chaosnli-alphanli", n_tracked=None, n_validation=None))
    assert len(data.train) == 1225 and len(data.validation) == 307  # the 80/20 split of its 1,532 items
    assert set(data.train.frame["origin"]) == {"annotated"} and len(data.tracked) == 1225
    assert data.train.task.label_names == ("hyp1", "hyp2")
    table = data.table[data.table["split"] == "train"]
    assert table["entropy"].max() <= np.log(2) + 1e-12
    low, high = 0.4 * np.log(2) / np.log(3), 0.7 * np.log(2) / np.log(3)
    expected = np.where(table["entropy"] < low, "clean", np.where(table["entropy"] < high, "ambiguous", "contested"))
    assert (table["category"] == expected).all() and set(expected) == {"clean", "ambiguous", "contested"}

    out = tmp_path / "alphanli"
    train(small(data_dir, dataset="chaosnli-alphanli", n_tracked=48, epochs=1), out, show_progress=False)
    assert json.loads((out / "run.json").read_text())["data"]["n_bulk"] == 0  # n_bulk is not drawn from anything
    stats = analyze([out], n_resamples=500, workers=1)["runs"][0]
    assert stats["n_items"] == 48 and -1 <= stats["spearman"]["aulc"]["estimate"] <= 1


def test_per_seed_bulk_draws_with_the_run_seed(data_dir):
    shared = [build_run_data(small(data_dir, seed=s)) for s in (1, 2)]
    own = [build_run_data(small(data_dir, seed=s, bulk_seed="per-seed")) for s in (1, 2)]
    assert list(shared[0].train.ids) == list(shared[1].train.ids)
    assert list(own[0].train.ids) != list(own[1].train.ids)
    assert list(own[0].train.ids) == list(build_run_data(small(data_dir, bulk_seed=1)).train.ids)
    with pytest.raises(ValueError, match="bulk_seed must be an integer or 'per-seed', got 'each'"):
        small(data_dir, bulk_seed="each")

"""`cache_trunk`: a frozen encoder's output computed once per input and read back, which must train exactly as the
encoder recomputed at every presentation does (real minilm, real SNLI items)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from test_architectures import SIZES
from test_train import small
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

from loradyn.errors import DataError
from loradyn.models.adapters import apply_method
from loradyn.models.registry import resolve_model
from loradyn.models.trunk import TrunkCache
from loradyn.store import read_dynamics
from loradyn.train.runner import Run

POOLER = dict(targets=["pooler.dense"], disable_dropout=True)
SENTENCES = ["A man plays a guitar.", "Two dogs run across a snowy field.", "Nobody is here.", "It rains."]


def _pooler_model(**changes):
    path = resolve_model("minilm").path
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=3)
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    targets = changes.pop("targets", ["pooler.dense"])
    return apply_method(model, "lora", rank=4, alpha=None, dropout=0.0, targets=targets, **changes).eval(), path


def _counted(model):
    """How often the encoder really runs: a counter around its forward, installed before the cache takes it."""
    encoder = model.get_base_model().bert.encoder
    original, calls = encoder.forward, []

    def forward(*args, **kwargs):
        calls.append(len(args[0]))
        return original(*args, **kwargs)

    encoder.forward = forward
    return calls


def test_the_cache_reads_back_what_the_encoder_computes():
    cached, path = _pooler_model()
    reference, _ = _pooler_model()
    tokenizer = AutoTokenizer.from_pretrained(path)
    calls = _counted(cached)
    cache = TrunkCache(cached)

    def logits(model, sentences):
        batch = tokenizer(sentences, padding=True, return_tensors="pt")
        with torch.no_grad():
            return model(**batch).logits

    first = logits(cached, SENTENCES[:3])
    assert calls == [3] and cache.computed == 3
    # the same items, another order and padded to another batch's length, read back: no encoder pass
    again = logits(cached, [SENTENCES[2], SENTENCES[0]])
    assert calls == [3]
    torch.testing.assert_close(again, first[[2, 0]], rtol=0, atol=1e-6)
    torch.testing.assert_close(again, logits(reference, [SENTENCES[2], SENTENCES[0]]), rtol=0, atol=1e-5)
    # a batch with one new item runs the encoder once more and caches the new item only
    logits(cached, SENTENCES[1:])
    assert calls == [3, 3] and cache.computed == 4


def test_a_cached_run_records_what_an_uncached_run_records(data_dir, tmp_path):
    config = small(data_dir, **POOLER, n_bulk=48, n_tracked=8, n_validation=16, epochs=3, max_length=32)
    results = {}
    for cache in (False, True):
        out = tmp_path / f"cache-{cache}"
        run = Run(config.__class__(**{**config.__dict__, "cache_trunk": cache}), out)
        results[cache] = (run.fit(show_progress=False), read_dynamics(out))
        if cache:  # every item encoded once: 48 trained, 8 tracked, 16 validation
            assert run.trunk.computed == 72
    (plain, plain_rows), (cached, cached_rows) = results[False], results[True]
    assert plain["final"]["val_accuracy"] == pytest.approx(cached["final"]["val_accuracy"])
    keys = ["example_id", "checkpoint", "mode", "target"]
    plain_rows, cached_rows = (rows.sort_values(keys).reset_index(drop=True) for rows in (plain_rows, cached_rows))
    pd.testing.assert_frame_equal(plain_rows[keys], cached_rows[keys])
    for column in ("loss", "p_gold", "margin"):
        np.testing.assert_allclose(cached_rows[column], plain_rows[column], rtol=0, atol=1e-5)
    assert (cached_rows["pred"] == plain_rows["pred"]).mean() > 0.99  # a near-tie may flip within float rounding


def test_the_cache_refuses_an_encoder_that_trains_or_drops_out():
    trained, _ = _pooler_model(targets=["query", "value"])
    with pytest.raises(DataError, match=r"but 24 of its parameters train \(encoder\.layer\.0\..*lora_A"):
        TrunkCache(trained)
    dropping, _ = _pooler_model()
    next(m for m in dropping.modules() if isinstance(m, torch.nn.Dropout)).p = 0.1
    with pytest.raises(DataError, match="dropout off"):
        TrunkCache(dropping)


def test_the_cache_refuses_a_decoder():
    config = AutoConfig.for_model("qwen2", vocab_size=128, num_key_value_heads=1, **SIZES)
    model = AutoModelForSequenceClassification.from_config(config)
    with pytest.raises(DataError, match="needs an encoder stack"):
        TrunkCache(model)


def test_cache_trunk_is_refused_where_the_encoder_changes(data_dir):
    with pytest.raises(ValueError, match="needs disable_dropout: true"):
        small(data_dir, targets=["pooler.dense"], cache_trunk=True)
    with pytest.raises(ValueError, match="method='full'"):
        small(data_dir, method="full", disable_dropout=True, cache_trunk=True)

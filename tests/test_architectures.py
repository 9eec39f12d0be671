"""The hub code path for every architecture family the papers use, on tiny random models saved locally (no
download): roberta-base, bert-base-uncased, distilbert-base-uncased, microsoft/deberta-v3-base, Qwen/Qwen2.5-*."""

from __future__ import annotations

import pytest
import torch
from test_train import small
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

from loradyn.models.adapters import LORA_TARGETS
from loradyn.models.registry import resolve_model
from loradyn.store import read_dynamics
from loradyn.train.runner import Run

SIZES = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
FAMILIES = {
    "bert": ("minilm", dict(SIZES)),
    "roberta": ("minilm", dict(SIZES, max_position_embeddings=130, pad_token_id=0)),
    "distilbert": ("minilm", dict(dim=32, n_layers=2, n_heads=2, hidden_dim=64)),
    "deberta-v2": ("minilm", dict(SIZES, relative_attention=True, pos_att_type=["p2c", "c2p"])),
    "qwen2": ("smollm2-135m", dict(SIZES, num_key_value_heads=1)),
}


@pytest.mark.parametrize("family", FAMILIES)
def test_tiny_random_model_of_each_family(family, data_dir, tmp_path):
    tokenizer_from, sizes = FAMILIES[family]
    tokenizer = AutoTokenizer.from_pretrained(resolve_model(tokenizer_from).path)
    config = AutoConfig.for_model(family, vocab_size=len(tokenizer), **sizes)
    folder = tmp_path / f"tiny-{family}"
    AutoModelForSequenceClassification.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)

    source = resolve_model(str(folder))
    assert source.is_decoder == (family == "qwen2")
    run = Run(
        small(data_dir, model=str(folder), epochs=1, n_bulk=8, n_tracked=8, n_validation=8, batch_size=8),
        tmp_path / "run",
    )
    adapted = {name.split(".")[-4] for name, p in run.model.named_parameters() if p.requires_grad and "lora_A" in name}
    assert adapted == set(LORA_TARGETS[family])
    result = run.fit(show_progress=False)
    assert len(read_dynamics(tmp_path / "run", mode="probe")) == 8 * result["progress"]["checkpoints"]


@pytest.mark.parametrize("family", ["bert", "qwen2"])
def test_a_bf16_checkpoint_trains_in_fp32(family, data_dir, tmp_path):
    """transformers loads a checkpoint in its own dtype: a bf16 decoder (Qwen2.5) would train a bf16 head, whose small
    updates round away. Every trainable parameter is fp32, and every one of them moves."""
    tokenizer_from, sizes = FAMILIES[family]
    tokenizer = AutoTokenizer.from_pretrained(resolve_model(tokenizer_from).path)
    config = AutoConfig.for_model(family, vocab_size=len(tokenizer), **sizes)
    folder = tmp_path / f"bf16-{family}"
    AutoModelForSequenceClassification.from_config(config).to(torch.bfloat16).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    assert AutoConfig.from_pretrained(folder).dtype == torch.bfloat16

    run = Run(
        small(data_dir, model=str(folder), epochs=1, n_bulk=8, n_tracked=8, n_validation=8, batch_size=8, lr=2e-5),
        tmp_path / "run",
    )
    before = {n: p.detach().clone() for n, p in run.model.named_parameters() if p.requires_grad}
    assert before and {p.dtype for p in before.values()} == {torch.float32}
    run.fit(show_progress=False)
    after = dict(run.model.named_parameters())
    assert all(not torch.equal(after[n].detach(), p) for n, p in before.items())

"""The recorder from a user's own Hugging Face Trainer script (transformers #31647, cleanlab #974)."""

from __future__ import annotations

import numpy as np
import torch
from datasets import Dataset
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
)

from loradyn.data import load_standard
from loradyn.models.registry import resolve_model
from loradyn.store import read_dynamics
from loradyn.train.callback import DynamicsCallback
from loradyn.train.recorder import example_stats


def test_trainer_callback_records_probes(data_dir, tmp_path):
    path = resolve_model("minilm").path
    tokenizer = AutoTokenizer.from_pretrained(path)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=3)
    frame = load_standard("snli", "train", data_dir=data_dir).frame.iloc[:48]

    def tokenised(rows):
        data = Dataset.from_pandas(rows.rename(columns={"label": "labels"}), preserve_index=False)
        return data.map(
            lambda b: tokenizer(b["premise"], b["hypothesis"], truncation=True, max_length=64), batched=True
        )

    train_set = tokenised(frame).remove_columns(["premise", "hypothesis", "example_id"])
    tracked = tokenised(frame.iloc[:20]).remove_columns(["premise", "hypothesis"])
    collator = DataCollatorWithPadding(tokenizer)
    callback = DynamicsCallback(tmp_path / "mine", tracked, data_collator=collator, probe_every=2, batch_size=8)
    args = TrainingArguments(
        output_dir=str(tmp_path / "trainer"),
        per_device_train_batch_size=8,
        num_train_epochs=1,
        learning_rate=1e-4,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        seed=0,
    )
    Trainer(model=model, args=args, train_dataset=train_set, data_collator=collator, callbacks=[callback]).train()

    probes = read_dynamics(tmp_path / "mine", mode="probe")
    assert sorted(probes["step"].unique()) == [0, 2, 4, 6]  # 48 / 8 = 6 steps; the epoch end is step 6
    assert (probes.groupby("checkpoint")["example_id"].nunique() == 20).all()
    last = probes[probes["step"] == 6].set_index("example_id").loc[tracked["example_id"]]
    model.eval()
    batch = collator([{k: row[k] for k in ("input_ids", "token_type_ids", "attention_mask")} for row in tracked])
    with torch.no_grad():
        logits = model(**batch).logits
    expected = example_stats(logits, torch.tensor(tracked["labels"]))
    np.testing.assert_allclose(last["loss"], expected["loss"], rtol=1e-4, atol=1e-5)

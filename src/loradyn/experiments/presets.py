"""Named run configurations."""

from __future__ import annotations

from loradyn.train.config import RunConfig

#: ``loradyn demo`` / ``make demo``: LoRA r16 on minilm over the first study's composition at laptop scale (all
#: 1,211 tracked ChaosNLI-SNLI items plus 2,000 SNLI bulk items, 2 epochs, a probe every 50 steps and at each
#: epoch end), about 3 minutes on 2 CPU cores. Departure from the paper, so that a few hundred steps learn
#: something: lr 2e-3 (the paper: 2e-5 over 5 epochs of 21,211 items).
DEMO = dict(
    model="minilm",
    method="lora",
    rank=16,
    dataset="chaosnli-snli",
    bulk="snli",
    n_bulk=2000,
    epochs=2,
    lr=2e-3,
    probe_every=50,
)


def demo_config(**changes) -> RunConfig:
    return RunConfig(**{**DEMO, **changes})

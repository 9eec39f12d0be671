"""The fine-tuning methods loradyn offers, as names (importable without torch or PEFT)."""

from __future__ import annotations

from typing import Literal

Method = Literal["lora", "ia3", "full"]
METHODS = ("lora", "ia3", "full")

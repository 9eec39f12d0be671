"""A frozen encoder's output, computed once per distinct input and read back after (``RunConfig.cache_trunk``).

When an adapter trains only modules above the encoder stack (LoRA on the pooler alone, say, as
``configs/ract-agnews-capacity.yaml`` does) and every dropout is off, the encoder maps an example to the same
hidden states at every presentation, yet every epoch runs all six transformer layers again. The cache keeps each
example's hidden states (its unpadded token ids are the key) and hands them back, padded to the batch, to the
pooler and head above. What trains, and on what, is unchanged; a recomputed pass could differ in the last float
bits (the example padded to another batch's length), and in the runs compared nothing differed at all.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from loradyn.errors import DataError


def _base(model: nn.Module) -> nn.Module:
    """The transformer under a PEFT wrapper and a task head (``BertModel`` under ``BertForSequenceClassification``)."""
    model = model.get_base_model() if hasattr(model, "get_base_model") else model
    return getattr(model, model.base_model_prefix)


class TrunkCache:
    """Caches ``model``'s encoder stack (``<base>.embeddings`` and ``<base>.encoder``, both frozen, no dropout).

    Raises `DataError` where the cache would change what trains: a trainable parameter or an active dropout in the
    embeddings or the encoder, or an architecture without an ``encoder`` module (decoders).
    """

    def __init__(self, model: nn.Module) -> None:
        base = _base(model)
        encoder, embeddings = getattr(base, "encoder", None), getattr(base, "embeddings", None)
        if not isinstance(encoder, nn.Module) or not isinstance(embeddings, nn.Module):
            raise DataError(
                f"cache_trunk needs an encoder stack (embeddings, encoder); {type(base).__name__} has none",
                field="cache_trunk",
                fix="set cache_trunk: false for this model",
            )
        parts = {"embeddings": embeddings, "encoder": encoder}
        trained = [f"{part}.{name}" for part, m in parts.items() for name, p in m.named_parameters() if p.requires_grad]
        if trained:
            raise DataError(
                f"cache_trunk needs a frozen encoder, but {len(trained)} of its parameters train ({trained[0]}, ...)",
                field="cache_trunk",
                fix="adapt only modules above the encoder (targets: [pooler.dense]) or set cache_trunk: false",
            )
        if any(isinstance(m, nn.Dropout) and m.p > 0 for part in parts.values() for m in part.modules()):
            raise DataError(
                "cache_trunk needs the encoder's dropout off (else each presentation differs)",
                field="cache_trunk",
                fix="set disable_dropout: true, or cache_trunk: false",
            )
        self.hidden: dict[bytes, torch.Tensor] = {}
        self.computed = 0
        self._keys: list[bytes] = []
        self._mask: torch.Tensor | None = None
        self._output_type: type | None = None
        self._encode = encoder.forward
        base.register_forward_pre_hook(self._key_batch, with_kwargs=True)
        encoder.forward = self._forward

    def _key_batch(self, module: nn.Module, args: tuple, kwargs: dict[str, Any]) -> None:
        """Each row's key: its attended token ids (and segment ids, where given)."""
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is None:
            raise DataError("cache_trunk keys examples by their token ids; this call passed none", field="cache_trunk")
        mask = kwargs.get("attention_mask")
        mask = torch.ones_like(ids, dtype=torch.bool) if mask is None else mask.bool()
        segments = kwargs.get("token_type_ids")
        self._mask = mask
        ids, on_host = ids.cpu().numpy(), mask.cpu().numpy()  # one copy off the device per batch, not one per row
        segments = None if segments is None else segments.cpu().numpy()
        self._keys = [
            ids[i][on_host[i]].tobytes() + (b"" if segments is None else b"|" + segments[i][on_host[i]].tobytes())
            for i in range(len(ids))
        ]

    def _forward(self, hidden_states: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        if any(key not in self.hidden for key in self._keys):
            with torch.no_grad():
                out = self._encode(hidden_states, *args, **kwargs)
            self._output_type = type(out)
            for key, row, mask in zip(self._keys, out.last_hidden_state, self._mask, strict=True):
                if key not in self.hidden:
                    self.hidden[key] = row[mask].detach()
                    self.computed += 1
            return out
        padded = hidden_states.new_zeros(hidden_states.shape)
        for i, (key, mask) in enumerate(zip(self._keys, self._mask, strict=True)):
            padded[i, mask] = self.hidden[key]
        return self._output_type(last_hidden_state=padded)

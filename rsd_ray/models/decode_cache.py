"""The decode loop's cache: keys and values written in place, in room reserved when the batch is packed.

transformers' DynamicLayer appends by torch.cat, which copies the whole cache
on every decoded token; these layers are views into a buffer with room to
grow. The arena (models/arena.py) fills them for a call; kv.py packs the call.
"""

from __future__ import annotations

import torch
from transformers import DynamicCache
from transformers.cache_utils import Cache, DynamicLayer

from rsd_ray.models.kv_sizes import grown_room


class GrowingLayer(DynamicLayer):
    """A cache layer whose keys and values are views into a buffer with room to grow.

    transformers' DynamicLayer appends by torch.cat, which copies the whole
    cache on every decoded token: on the zoo's target at batch 64 that copy
    cost as much as a quarter of a decode forward. Here a token is written in
    place; the buffer grows (by a quarter) only when the room reserved at pack
    time runs out.
    """

    def __init__(self, capacity: int, keys: torch.Tensor | None = None, values: torch.Tensor | None = None,
                 length: int = 0, limit: int = 1 << 30):
        super().__init__()
        self.capacity = capacity  # columns to allocate at the first update (when no buffer is given)
        self.length = length
        self.limit = limit  # the model's context: growth stops there (kv_sizes.grown_room)
        if keys is not None:
            self._buffers(keys, values)

    def _buffers(self, k: torch.Tensor, v: torch.Tensor) -> None:
        self._k, self._v = k, v
        self.device = k.device
        self.is_initialized = True
        self.keys, self.values = k[:, :, : self.length], v[:, :, : self.length]

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        t = key_states.shape[-2]
        if not self.is_initialized:
            B, H, _, D = key_states.shape
            cap = max(t, self.capacity)
            self._buffers(key_states.new_empty((B, H, cap, D)), value_states.new_empty((B, H, cap, D)))
        end = self.length + t
        if end > self._k.shape[2]:  # out of room (a step longer than the room): grow by a quarter, not
            # by doubling: the buffer holds the whole batch's prefixes, and a long step should not double it
            k = self._k.new_empty((*self._k.shape[:2], grown_room(end, self.limit), self._k.shape[3]))
            v = self._v.new_empty(k.shape)
            k[:, :, : self.length], v[:, :, : self.length] = self.keys, self.values
            self._k, self._v = k, v
        self._k[:, :, self.length:end] = key_states
        self._v[:, :, self.length:end] = value_states
        self.length = end
        self.keys, self.values = self._k[:, :, :end], self._v[:, :, :end]
        return self.keys, self.values

    def _unsupported(self, *args, **kwargs):
        raise NotImplementedError("GrowingLayer serves rsd_ray's engines only: crop, reset, reorder or "
                                  "batch selection would desynchronise its buffer")

    # transformers' generate() and beam search use these; our engines never do (models/assisted.py runs
    # generate() on its own DynamicCache). Failing loudly beats a silently stale buffer.
    crop = reset = reorder_cache = batch_select_indices = batch_repeat_interleave = _unsupported


class GrowingCache(DynamicCache):
    """A DynamicCache made of GrowingLayers (built directly: DynamicCache's own constructor makes DynamicLayers)."""

    def __init__(self, layers: list[GrowingLayer]):
        Cache.__init__(self, layers=layers)

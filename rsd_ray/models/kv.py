"""Per-request KV caches and their packing into one padded batch.

Each request keeps its own keys/values (one [1, heads, T, dim] pair per
layer). A batched call lays requests out as

    [pad .. pad][cached c_i][pad .. pad][new n_i]   (attention mask 0 on pads)

so requests with different cached and new lengths share one forward; the
explicit position ids keep RoPE positions true. Afterwards each request's
cache is cut back out of the batch by its mask. A real GPU server would use
paged attention; on the zoo this keeps every step's cost proportional to its
own new tokens, not to the whole prefix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from transformers import DynamicCache

KV = list[tuple[torch.Tensor, torch.Tensor]]  # per layer, [1, kv_heads, T, head_dim]


@dataclass
class SeqState:
    """What one model knows of one request: its tokens, where each step ends, its KV cache."""

    tokens: list[int] = field(default_factory=list)
    step_ends: list[int] = field(default_factory=list)  # token index just after each committed step
    steps: list[str] = field(default_factory=list)
    kv: KV | None = None  # covers tokens[:cached]
    cached: int = 0
    rewards: list[float] = field(default_factory=list)  # PRM only: the reward read at each step's end
    prompt_len: int = 0

    def truncate_steps(self, keep: int) -> None:
        """Forget every step after the first `keep` (a rejected draft step, a replaced prefix)."""
        if keep >= len(self.steps):
            return
        cut = self.step_ends[keep - 1] if keep > 0 else self.prompt_len
        del self.steps[keep:], self.step_ends[keep:], self.rewards[keep:]
        del self.tokens[cut:]
        if self.cached > cut:
            self.kv = [(k[:, :, :cut], v[:, :, :cut]) for k, v in self.kv] if self.kv else None
            self.cached = cut


    def append_step(self, text: str, ids: list[int]) -> None:
        self.tokens += ids
        self.steps.append(text)
        self.step_ends.append(len(self.tokens))

    def uncached(self) -> list[int]:
        """Tokens to feed next; at least one, so that the call has logits to read."""
        if self.cached >= len(self.tokens):
            self.cached = len(self.tokens) - 1
            self.kv = [(k[:, :, : self.cached], v[:, :, : self.cached]) for k, v in self.kv] if self.kv else None
        return self.tokens[self.cached:]


def common_steps(known: list[str], wanted: tuple[str, ...] | list[str]) -> int:
    n = 0
    for a, b in zip(known, wanted):
        if a != b:
            break
        n += 1
    return n


@dataclass
class PackedBatch:
    input_ids: torch.Tensor  # [B, N]
    attention_mask: torch.Tensor  # [B, C + N]
    position_ids: torch.Tensor  # [B, N]
    cache: DynamicCache
    new_lens: list[int]


def pack(states: list[SeqState], new: list[list[int]], pad_id: int, num_layers: int,
         device: torch.device | str = "cpu") -> PackedBatch:
    """Lay out cached KV and new tokens of several requests as one padded batch."""
    B = len(states)
    C = max(s.cached for s in states)
    N = max(len(n) for n in new)
    ids = torch.full((B, N), pad_id, dtype=torch.long)
    mask = torch.zeros((B, C + N), dtype=torch.long)
    pos = torch.zeros((B, N), dtype=torch.long)
    for i, (s, n) in enumerate(zip(states, new)):
        ids[i, N - len(n):] = torch.tensor(n, dtype=torch.long)
        mask[i, C - s.cached: C] = 1
        mask[i, C + N - len(n):] = 1
        pos[i, N - len(n):] = torch.arange(s.cached, s.cached + len(n))
    cache = DynamicCache()
    if C > 0:
        layers = []
        ref = next(s.kv for s in states if s.kv)
        for layer in range(num_layers):
            k0, v0 = ref[layer]
            ks = k0.new_zeros((B, k0.shape[1], C, k0.shape[3]))
            vs = v0.new_zeros((B, v0.shape[1], C, v0.shape[3]))
            for i, s in enumerate(states):
                if s.cached:
                    k, v = s.kv[layer]
                    ks[i, :, C - s.cached:] = k[0]
                    vs[i, :, C - s.cached:] = v[0]
            layers.append((ks, vs))
        cache = DynamicCache(ddp_cache_data=layers)
    return PackedBatch(ids.to(device), mask.to(device), pos.to(device), cache, [len(n) for n in new])


def unpack(cache: DynamicCache, mask: torch.Tensor, row: int) -> KV:
    """One request's KV back out of a batch cache (only the positions its mask marks real)."""
    keep = mask[row, : cache.layers[0].keys.shape[2]].nonzero().squeeze(-1)
    return [(layer.keys[row : row + 1, :, keep].clone(), layer.values[row : row + 1, :, keep].clone())
            for layer in cache.layers]

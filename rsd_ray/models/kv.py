"""Every live request's KV cache in one arena per model, and its packing into padded batches.

The arena is paged: per layer a pool of 64-token blocks [blocks, heads, BLOCK,
dim] (models/block_pool.py), and per live request (slot) a table of the blocks
holding its cached tokens at positions 0..c_i-1. A batched call gathers its
requests' blocks with one index_select per layer and pool chunk and lays them out as

    [cached c_i][hole .. ][pad .. pad][new n_i]   (attention mask 0 on holes and pads)

(C = the longest cached prefix, N = the longest new segment), so requests
with different cached and new lengths share one forward; explicit position
ids keep RoPE positions true. The decode loop appends columns in place
(models/decode_cache.py). The arena itself is models/arena.py. Afterwards each request's new tokens, one contiguous range of
columns per row, go back into its slot's blocks with one scatter per layer and chunk.

Per-request tensors (what this replaced) cost B small copies per layer in and
out of every call: a third of the PRM's time in rsd on the zoo. A GPU server
would attend over the blocks in place (a paged-attention kernel); here the
blocks are copied into one contiguous batch cache per call, and a step's store
still costs work for its own tokens only, not for the whole prefix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from transformers import DynamicCache

from rsd_ray.models.arena import KVArena


@dataclass
class SeqState:
    """What one model knows of one request: its tokens, where each step ends, its arena slot."""

    tokens: list[int] = field(default_factory=list)
    step_ends: list[int] = field(default_factory=list)  # token index just after each committed step
    steps: list[str] = field(default_factory=list)
    slot: int = -1  # its block table in the model's KVArena, whose blocks hold tokens[:cached]
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
        self.cached = min(self.cached, cut)  # past the cut: kept in the slot's blocks (arena.py), written over

    def append_step(self, text: str, ids: list[int]) -> None:
        self.tokens += ids
        self.steps.append(text)
        self.step_ends.append(len(self.tokens))

    def uncached(self) -> list[int]:
        """Tokens to feed next; at least one, so that the call has logits to read."""
        if self.cached >= len(self.tokens):
            self.cached = len(self.tokens) - 1
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
    width: int  # C: columns given to cached tokens; row i's new tokens start at C + N - new_lens[i]
    row_groups: list[tuple[int, int, int]] | None = None  # (first row, end row, first column): row_groups()

    @property
    def forward_kwargs(self) -> dict:
        """What the model call passes down to the attention (models/attention.py reads `row_groups`)."""
        return {"row_groups": self.row_groups} if self.row_groups else {}


# Row groups: a batch whose cached lengths differ a lot attends group by group, each group of rows
# (longest first, similar lengths) over its own columns only, in the same forward (attention.py).
# Each group costs one more attention call per layer, worth about this many row-columns of
# attention (one CPU thread, 28/4 heads: ~40 us a call against ~0.1 us per row and column; a GPU's
# launch costs more columns). Below ROW_GROUP_MIN columns the padding is a small share of a step
# and rows keep the plain layout (the zoo's contexts never reach it).
ROW_GROUP_COLUMNS = {"cpu": 2048}
ROW_GROUP_COLUMNS_ELSE = 16384
ROW_GROUP_MIN = 512


def row_groups(cached: list[int], device: torch.device | str = "cpu") -> list[tuple[int, int, int]] | None:
    """Groups of consecutive rows (first row, end row, first column) whose attention reads only
    columns [first column, end): rows sorted longest first, cut where sum(rows x longest) +
    overhead x groups is least; None when one group is best (or the rows are not sorted)."""
    C = max(cached, default=0)
    if C < ROW_GROUP_MIN or any(a < b for a, b in zip(cached, cached[1:])):
        return None
    over = ROW_GROUP_COLUMNS.get(torch.device(device).type, ROW_GROUP_COLUMNS_ELSE)
    B = len(cached)
    best, cut = [0.0] + [float("inf")] * B, [0] * (B + 1)
    for hi in range(1, B + 1):  # best[hi]: rows [0, hi) grouped; the group [lo, hi) is as long as row lo
        for lo in range(hi):
            c = best[lo] + (hi - lo) * cached[lo] + over
            if c < best[hi]:
                best[hi], cut[hi] = c, lo
    groups, hi = [], B
    while hi > 0:
        groups.append((cut[hi], hi, C - cached[cut[hi]]))
        hi = cut[hi]
    return groups[::-1] if len(groups) > 1 else None


def context_order(states: list[SeqState]) -> list[int]:
    """The order to pack `states` in: longest cached first where row groups may pay, else as given."""
    if max((s.cached for s in states), default=0) < ROW_GROUP_MIN:
        return list(range(len(states)))
    return sorted(range(len(states)), key=lambda i: -states[i].cached)


def pack(states: list[SeqState], new: list[list[int]], pad_id: int, arena: KVArena,
         device: torch.device | str = "cpu", room: int = 0) -> PackedBatch:
    """Lay out cached KV and new tokens of several requests as one padded batch.

    `room`: tokens the caller will append after this forward (a decode loop):
    the cache is allocated with that much space, so appending copies nothing.
    With row groups (rows sorted longest first, very different lengths) a row's
    cached positions end at column C instead of starting at 0, so that each
    group's rows hold everything they attend to in the columns from its first:
    [hole][cached c_i][pad][new n_i]."""
    B = len(states)
    cached = [s.cached for s in states]
    C = max(cached)
    N = max(len(n) for n in new)
    groups = row_groups(cached, device)
    ids = torch.full((B, N), pad_id, dtype=torch.long)
    mask = torch.zeros((B, C + N), dtype=torch.long)
    pos = torch.zeros((B, N), dtype=torch.long)
    for i, (s, n) in enumerate(zip(states, new)):
        ids[i, N - len(n):] = torch.tensor(n, dtype=torch.long)
        if groups:
            mask[i, C - s.cached: C] = 1
        else:
            mask[i, : s.cached] = 1
        mask[i, C + N - len(n):] = 1
        pos[i, N - len(n):] = torch.arange(s.cached, s.cached + len(n))
    right = None
    if groups:
        first = {r: lo for a, b, lo in groups for r in range(a, b)}
        right = [(c, first[r]) for r, c in enumerate(cached)]
    cache = arena.gather([s.slot for s in states], C, N + room, right)
    return PackedBatch(ids.to(device), mask.to(device), pos.to(device), cache, [len(n) for n in new], C, groups)

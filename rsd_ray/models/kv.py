"""Every live request's KV cache in one arena per model, and its packing into padded batches.

The arena holds, per layer, keys and values as [slots, heads, length, dim]:
one row (slot) per live request, its cached tokens at their own positions
0..c_i-1. A batched call gathers its requests' rows with one index_select per
layer and lays them out as

    [cached c_i][hole .. ][pad .. pad][new n_i]   (attention mask 0 on holes and pads)

(C = the longest cached prefix, N = the longest new segment), so requests
with different cached and new lengths share one forward; explicit position
ids keep RoPE positions true. The decode loop appends columns in place
(GrowingLayer). Afterwards each request's new tokens, one contiguous range of
columns per row, go back into its slot with one scatter per layer.

Per-request tensors (what this replaced) cost B small copies per layer in and
out of every call: a third of the PRM's time in rsd on the zoo. A GPU server
would use paged attention; here a step still costs work for its own tokens
only, not for the whole prefix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from transformers import DynamicCache
from transformers.cache_utils import Cache, DynamicLayer

from rsd_ray.models.kv_sizes import grown_length, grown_room, grown_rows

@dataclass
class SeqState:
    """What one model knows of one request: its tokens, where each step ends, its arena slot."""

    tokens: list[int] = field(default_factory=list)
    step_ends: list[int] = field(default_factory=list)  # token index just after each committed step
    steps: list[str] = field(default_factory=list)
    slot: int = -1  # its row in the model's KVArena, which holds tokens[:cached]
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
        self.cached = min(self.cached, cut)  # what the arena holds past the cut is never read again

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


class KVArena:
    """One model's cache: per layer, keys and values of every live request, one row (slot) each.

    Rows and length grow by doubling (models/kv_sizes.py, which `rsd-ray plan`
    reads too), the length never past the model's context; a released slot is zeroed and
    reused. Positions past a row's cached length (a rejected step's keys, zeros) are
    finite and always masked. Memory: the most requests live at once x the longest
    context seen, and it never shrinks; a GPU server would page it instead.

    Columns are held in chunks (per layer [slots, heads, chunk length, dim]): growing
    the length adds a zeroed chunk and copies nothing. One tensor grown by a copy cost
    the call that grew it 0.2 to 0.7 s at 2k columns and 16 to 64 rows (issue 15), as
    much as ten decode forwards. Only rows still grow by a copy (rare: more requests
    live than ever before).
    """

    def __init__(self, num_layers: int, limit: int = 1 << 30):
        self.num_layers = num_layers
        self.limit = limit  # the model's context
        # per layer, its chunks of [slots, heads, columns, dim]; created at the first store
        self.k: list[list[torch.Tensor]] = []
        self.v: list[list[torch.Tensor]] = []
        self.starts: list[int] = []  # the first column of each chunk (the same in every layer)
        self.length = 0  # columns in all chunks together
        self.rows = 0
        self.free: list[int] = []

    def alloc(self) -> int:
        if not self.free:
            grown = grown_rows(self.rows)
            self.free = list(range(grown - 1, self.rows - 1, -1))
            self.rows = grown
            for chunks in (*self.k, *self.v):
                for i, old in enumerate(chunks):
                    new = old.new_zeros((grown, *old.shape[1:]))
                    new[: old.shape[0]] = old
                    chunks[i] = new
        return self.free.pop()

    def release(self, slots: list[int]) -> None:
        """Free rows for reuse, zeroed: masked columns of a batch read a row's stale positions, and
        masking multiplies them by 0, which stays finite only if they are."""
        if not slots:
            return
        if self.k:
            idx = torch.tensor(slots, device=self.k[0][0].device)
            for chunks in (*self.k, *self.v):
                for t in chunks:
                    t.index_fill_(0, idx, 0)
        self.free.extend(slots)

    def _grow(self, length: int, like: list[torch.Tensor]) -> None:
        """Add a zeroed chunk per layer so that `length` columns are held (`like`: a tensor per layer)."""
        if not self.k:
            self.k, self.v = [[] for _ in like], [[] for _ in like]
        for k, v, t in zip(self.k, self.v, like):
            shape = (self.rows, t.shape[1], length - self.length, t.shape[3])
            k.append(t.new_zeros(shape))
            v.append(t.new_zeros(shape))
        self.starts.append(self.length)
        self.length = length

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for chunks in (*self.k, *self.v) for t in chunks)

    def _spans(self, cached: int):
        """(chunk index, first column, columns) of each chunk holding part of columns [0, cached)."""
        for i, a in enumerate(self.starts):
            if a >= cached:
                break
            yield i, a, min(self.k[0][i].shape[2], cached - a)

    def gather(self, slots: list[int], cached: int, extra: int, right: list[tuple[int, int]] | None = None
               ) -> "GrowingCache":
        """A batch cache of these slots' first `cached` positions, with room for `extra` more.
        `right`: per row (its length, the first column its attention reads): the row's positions
        end at column `cached` instead of starting at 0; columns it reads before them are zeroed."""
        if cached == 0 or not self.k:
            return GrowingCache([GrowingLayer(extra, limit=self.limit) for _ in range(self.num_layers)])
        first = self.k[0][0]
        idx = torch.tensor(slots, device=first.device)
        spans = list(self._spans(cached))
        layers = []
        for k, v in zip(self.k, self.v):
            ks = first.new_empty((len(slots), first.shape[1], cached + extra, first.shape[3]))
            vs = first.new_empty(ks.shape)
            if right is None:
                for i, a, n in spans:
                    ks[:, :, a: a + n] = k[i][:, :, :n].index_select(0, idx)
                    vs[:, :, a: a + n] = v[i][:, :, :n].index_select(0, idx)
            else:
                for r, (s, (c, lo)) in enumerate(zip(slots, right)):
                    shift = cached - c
                    ks[r, :, lo: shift] = 0  # read (and masked) by the row's group: finite
                    vs[r, :, lo: shift] = 0
                    for i, a, n in spans:
                        m = min(n, c - a)
                        if m > 0:
                            ks[r, :, shift + a: shift + a + m] = k[i][s, :, :m]
                            vs[r, :, shift + a: shift + a + m] = v[i][s, :, :m]
            layers.append(GrowingLayer(extra, ks, vs, length=cached, limit=self.limit))
        return GrowingCache(layers)

    def store(self, cache: "GrowingCache", rows: list[int], starts: list[int], counts: list[int],
              slots: list[int], dest: list[int]) -> None:
        """Copy batch row r's columns [start, start + count) to slot s's positions [dest, dest + count)."""
        if not any(counts):
            return
        need = max(d + n for d, n in zip(dest, counts))
        if need > self.length:
            self._grow(grown_length(need, self.length, self.limit), [layer.keys for layer in cache.layers])
        dev = cache.layers[0].keys.device
        r_idx = torch.tensor([r for r, n in zip(rows, counts) for _ in range(n)], device=dev)
        src = torch.tensor([a + j for a, n in zip(starts, counts) for j in range(n)], device=dev)
        s_idx = torch.tensor([s for s, n in zip(slots, counts) for _ in range(n)], device=dev)
        dst = torch.tensor([d + j for d, n in zip(dest, counts) for j in range(n)], device=dev)
        lo = min(dest)
        parts = []  # per chunk written: its index and the entries that land in it, at its own columns
        for i, a, n in self._spans(need):
            if a + n <= lo:
                continue
            if a <= lo and a + n >= need:  # one chunk holds them all (the usual step)
                parts.append((i, r_idx, src, s_idx, dst - a))
                break
            m = (dst >= a) & (dst < a + n)
            parts.append((i, r_idx[m], src[m], s_idx[m], dst[m] - a))
        for k, v, layer in zip(self.k, self.v, cache.layers):
            for i, r, c, s, d in parts:
                k[i][s, :, d] = layer.keys[r, :, c]
                v[i][s, :, d] = layer.values[r, :, c]


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

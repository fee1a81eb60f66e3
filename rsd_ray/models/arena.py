"""Every live request's KV cache in one arena per model: one row (slot) per request, per layer.

A batched call gathers its requests' rows (kv.py lays them out) and stores
each request's new tokens back, one scatter per layer; rows and length grow
by the rules `rsd-ray plan` reads too (models/kv_sizes.py).
"""

from __future__ import annotations

import torch

from rsd_ray.models.decode_cache import GrowingCache, GrowingLayer
from rsd_ray.models.kv_sizes import grown_length, grown_rows


class KVArena:
    """One model's cache: per layer, keys and values of every live request, one row (slot) each.

    Rows and length grow by doubling (models/kv_sizes.py, which `rsd-ray plan`
    reads too), the length never past the model's context; a released slot is zeroed and
    reused. Positions past a row's cached length (a rejected step's keys, zeros) are
    finite and always masked. Memory: the most requests live at once x the longest
    context seen, and it never shrinks; a GPU server would page it instead.

    Columns are held in chunks (per layer [slots, heads, chunk length, dim]): growing
    the length adds a zeroed chunk instead of copying the whole tensor. Measured on CPU
    time (docs/PERFORMANCE.md section 7) the store that doubles the length costs about
    what it did (28/121 ms against 28/136 ms at 2k columns, 16/64 rows): zeroing the
    new chunk, not the copy, is most of it. Rows still grow by a copy (rare: more
    requests live than ever before).
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

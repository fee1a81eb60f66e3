"""Every live request's KV cache in one paged arena per model: a block table per request (slot).

A request's positions live in fixed-size blocks (models/block_pool.py) taken as
its cached length grows and given back when it is released, so the arena holds
about the sum of the live requests' own contexts, rounded up to blocks, not
(requests x the longest). A batched call gathers its requests' blocks into one
contiguous batch cache (kv.py lays it out) and stores each request's new tokens
back, one scatter per layer and pool chunk; the pool grows by the rules `rsd-ray
plan` reads too (models/kv_sizes.py).
"""

from __future__ import annotations

import torch

from rsd_ray.models.block_pool import ZERO, BlockPool
from rsd_ray.models.decode_cache import GrowingCache, GrowingLayer
from rsd_ray.models.kv_sizes import BLOCK, blocks_for, gather_room


class KVArena:
    """One model's cache: per slot (live request), the block ids holding its positions 0, 1, ...

    Position p of a slot is column p % BLOCK of its block p // BLOCK. A slot keeps
    its blocks until it is released: when its cached length is cut (a rejected
    step, SeqState.truncate_steps) the blocks past the cut stay its own and are
    written again as it grows back, so a request holds the blocks for the most
    positions it ever stored. Positions past a row's cached length (a rejected
    step's keys, zeros, the shared zero block) are finite and always masked.
    """

    def __init__(self, num_layers: int, limit: int = 1 << 30):
        self.num_layers = num_layers
        self.limit = limit  # the model's context
        self.pool = BlockPool()
        self.tables: list[list[int]] = []  # per slot, its block ids in position order
        self.free: list[int] = []  # released slots (their tables empty), reused last-released first

    def alloc(self) -> int:
        if self.free:
            return self.free.pop()
        self.tables.append([])
        return len(self.tables) - 1

    def release(self, slots: list[int]) -> None:
        """Give the slots' blocks back to the pool (zeroed there) and the slots for reuse."""
        blocks = [b for s in slots for b in self.tables[s]]
        self.pool.give_back(blocks)
        for s in slots:
            self.tables[s] = []
        self.free.extend(slots)

    def nbytes(self) -> int:
        return self.pool.nbytes()

    def _table(self, slots: list[int], width: int) -> torch.Tensor:
        """[len(slots), width] block ids, a slot's short table padded with the zero block."""
        return torch.tensor([(self.tables[s] + [ZERO] * width)[:width] for s in slots], dtype=torch.long)

    def gather(self, slots: list[int], cached: int, extra: int, right: list[tuple[int, int]] | None = None
               ) -> "GrowingCache":
        """A batch cache of these slots' first `cached` positions, with room for `extra` more.
        `right`: per row (its length, the first column its attention reads): the row's positions
        end at column `cached` instead of starting at 0; columns it reads before them are zeroed.
        Whole blocks are copied, so the room is at least BLOCK - 1 columns (kv_sizes.gather_room):
        the part of a row's last block past its length lands there, and is written over."""
        if cached == 0 or not self.pool.ready:
            return GrowingCache([GrowingLayer(extra, limit=self.limit) for _ in range(self.num_layers)])
        first = self.pool.k[0][0]
        B, H, D, dev = len(slots), first.shape[1], first.shape[3], first.device
        shape = (B, H, cached + gather_room(extra), D)
        if right is None:  # every row's blocks 0 .. nb-1 to columns [0, nb x BLOCK): one index per chunk
            nb = blocks_for(cached)
            ids = self._table(slots, nb).flatten()
            rows = torch.arange(B).repeat_interleave(nb)
            cols = torch.arange(nb).repeat(B)
            parts = [(i, (rows if m is None else rows[m]).to(dev), (cols if m is None else cols[m]).to(dev),
                      local.to(dev)) for i, m, local in self.pool.split(ids)]
        else:  # per row, its own blocks to columns from cached - its length (row groups, kv.pack)
            spans = []
            for r, (s, (c, lo)) in enumerate(zip(slots, right)):
                nr = blocks_for(c)
                ids = self._table([s], nr).flatten()
                spans.append((r, cached - c, lo, nr,
                              [(i, (torch.arange(nr) if m is None else torch.arange(nr)[m]).to(dev), local.to(dev))
                               for i, m, local in self.pool.split(ids)] if nr else []))
        layers = []
        for k, v in zip(self.pool.k, self.pool.v):
            ks, vs = first.new_empty(shape), first.new_empty(shape)
            if right is None:
                kb = ks[:, :, : nb * BLOCK].view(B, H, nb, BLOCK, D)
                vb = vs[:, :, : nb * BLOCK].view(B, H, nb, BLOCK, D)
                for i, r, c, local in parts:
                    kb[r, :, c] = k[i][local]
                    vb[r, :, c] = v[i][local]
            else:
                for r, shift, lo, nr, row_parts in spans:
                    ks[r, :, lo: shift] = 0  # read (and masked) by the row's group: finite
                    vs[r, :, lo: shift] = 0
                    kb = ks[r, :, shift: shift + nr * BLOCK].view(H, nr, BLOCK, D)
                    vb = vs[r, :, shift: shift + nr * BLOCK].view(H, nr, BLOCK, D)
                    for i, c, local in row_parts:
                        kb[:, c] = k[i][local].transpose(0, 1)
                        vb[:, c] = v[i][local].transpose(0, 1)
            layers.append(GrowingLayer(extra, ks, vs, length=cached, limit=self.limit))
        return GrowingCache(layers)

    def store(self, cache: "GrowingCache", rows: list[int], starts: list[int], counts: list[int],
              slots: list[int], dest: list[int]) -> None:
        """Copy batch row r's columns [start, start + count) to slot s's positions [dest, dest + count)."""
        if not any(counts):
            return
        like = [layer.keys for layer in cache.layers]
        for s, d, n in zip(slots, dest, counts):
            short = blocks_for(d + n) - len(self.tables[s])
            if n and short > 0:  # the slot grows: fresh (zeroed) blocks for its new positions
                self.tables[s] += self.pool.take(short, like)
        n_t = torch.tensor(counts)
        entry = torch.arange(len(counts)).repeat_interleave(n_t)  # per token written, its (row, slot) entry
        within = torch.arange(len(entry)) - (torch.cumsum(n_t, 0) - n_t)[entry]
        src = torch.tensor(starts)[entry] + within
        dst = torch.tensor(dest)[entry] + within
        blk = self._table(slots, max(len(self.tables[s]) for s in slots))[entry, dst // BLOCK]
        r_idx, off = torch.tensor(rows)[entry], dst % BLOCK
        dev = like[0].device
        parts = [(i, (r_idx if m is None else r_idx[m]).to(dev), (src if m is None else src[m]).to(dev),
                  local.to(dev), (off if m is None else off[m]).to(dev)) for i, m, local in self.pool.split(blk)]
        for k, v, layer in zip(self.pool.k, self.pool.v, cache.layers):
            for i, r, c, b, o in parts:
                k[i][b, :, o] = layer.keys[r, :, c]
                v[i][b, :, o] = layer.values[r, :, c]

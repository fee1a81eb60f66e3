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
        # every block the batch reads, in row order: one index_select per layer and pool chunk, then
        # one strided copy to the batch's columns (per row for row groups, whose rows end at `cached`)
        if right is None:
            nb = blocks_for(cached)
            ids = self._table(slots, nb).flatten()
        else:
            nbs = [blocks_for(c) for c, _ in right]
            ids = torch.cat([self._table([s], n).flatten() for s, n in zip(slots, nbs)])
        parts = [(i, m, local.to(dev)) for i, m, local in self.pool.split(ids)]
        if parts[0][1] is not None:  # several chunks: where each block sits in chunk order (for _select)
            order = torch.cat([m.nonzero().flatten() for _, m, _ in parts])
            parts[0] = (*parts[0], torch.empty_like(order).scatter_(0, order, torch.arange(len(order))).to(dev))
        layers = []
        for k, v in zip(self.pool.k, self.pool.v):
            ks, vs = first.new_empty(shape), first.new_empty(shape)
            for chunks, out in ((k, ks), (v, vs)):
                blocks = self._select(chunks, parts, len(ids))
                if right is None:
                    out[:, :, : nb * BLOCK].view(B, H, nb, BLOCK, D).copy_(
                        blocks.view(B, nb, H, BLOCK, D).transpose(1, 2))
                    continue
                a = 0
                for r, (n, (c, lo)) in enumerate(zip(nbs, right)):
                    shift = cached - c
                    out[r, :, lo: shift] = 0  # read (and masked) by the row's group: finite
                    out[r, :, shift: shift + n * BLOCK].view(H, n, BLOCK, D).copy_(blocks[a: a + n].transpose(0, 1))
                    a += n
            layers.append(GrowingLayer(extra, ks, vs, length=cached, limit=self.limit))
        return GrowingCache(layers)

    @staticmethod
    def _select(chunks: list[torch.Tensor], parts, n: int) -> torch.Tensor:
        """[n, heads, BLOCK, dim]: the blocks `parts` name (per chunk: its index, where its blocks go, their
        ids in it). From several chunks: each chunk's blocks into its own range of a buffer (`parts` in
        chunk order), then one index_select back into place (index_copy_ per chunk measured 5x slower)."""
        if len(parts) == 1 and parts[0][1] is None:
            return chunks[parts[0][0]].index_select(0, parts[0][2])
        by_chunk = chunks[0].new_empty((n, *chunks[0].shape[1:]))
        a = 0
        for i, _, local, *_ in parts:
            torch.index_select(chunks[i], 0, local, out=by_chunk[a: a + len(local)])
            a += len(local)
        return by_chunk.index_select(0, parts[0][3])

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

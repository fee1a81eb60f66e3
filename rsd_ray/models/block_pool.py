"""A pool of fixed-size KV blocks per layer: what the paged arena (models/arena.py) hands out to requests.

Per layer the pool is a list of chunks, each [blocks, heads, BLOCK, dim] for keys
and for values; a block id counts across the chunks in order (chunk i holds ids
starts[i] .. starts[i] + its size - 1). Growing adds a zeroed chunk, by the rule
`rsd-ray plan` reads too (kv_sizes.grown_blocks): nothing held is copied, and
the peak of a growth is the old pool plus the new chunk.

Block 0 is never handed out: it stays zero, and a gather pads a short row's
block table with it, so the columns a batch reads past a row's length (masked)
are finite. A freed block is zeroed before it goes back on the free list for the
same reason.
"""

from __future__ import annotations

import heapq

import torch

from rsd_ray.models.kv_sizes import BLOCK, grown_blocks

ZERO = 0  # the block that pads block tables: always zero, never written


class BlockPool:
    def __init__(self):
        self.k: list[list[torch.Tensor]] = []  # per layer, its chunks; created at the first grow
        self.v: list[list[torch.Tensor]] = []
        self.starts: list[int] = []  # the first block id of each chunk (the same in every layer)
        self.total = 0  # blocks in all chunks together
        # lowest id first: live blocks stay in the early chunks, so a gather touches fewer of them
        self.free: list[int] = []

    @property
    def ready(self) -> bool:
        return bool(self.k)

    def take(self, n: int, like: list[torch.Tensor]) -> list[int]:
        """`n` free block ids (zeroed), the pool grown if needed (`like`: a [B, heads, T, dim] tensor per layer)."""
        while len(self.free) < n:
            self._grow(like)
        return [heapq.heappop(self.free) for _ in range(n)]

    def give_back(self, ids: list[int]) -> None:
        """Zero `ids` and put them back on the free list (their stale keys must not leak into a masked read)."""
        if not ids:
            return
        for i, _, local in self.split(torch.tensor(ids)):
            for chunks in (*self.k, *self.v):
                chunks[i].index_fill_(0, local.to(chunks[i].device), 0)
        for b in ids:
            heapq.heappush(self.free, b)

    def _grow(self, like: list[torch.Tensor]) -> None:
        if not self.k:
            self.k, self.v = [[] for _ in like], [[] for _ in like]
        size = grown_blocks(self.total) - self.total
        for k, v, t in zip(self.k, self.v, like):
            shape = (size, t.shape[1], BLOCK, t.shape[3])
            k.append(t.new_zeros(shape))
            v.append(t.new_zeros(shape))
        self.starts.append(self.total)
        first = self.total + (1 if self.total == 0 else 0)  # block 0 (ZERO) is never free
        for b in range(first, self.total + size):
            heapq.heappush(self.free, b)
        self.total += size

    def split(self, ids: torch.Tensor):
        """Per chunk holding some of `ids` (a CPU long tensor): (chunk index, mask over ids or None when
        all of them are in it, their ids local to the chunk)."""
        if len(self.starts) == 1:
            yield 0, None, ids
            return
        chunk = torch.searchsorted(torch.tensor(self.starts), ids, right=True) - 1
        present = torch.unique(chunk).tolist()
        for i in present:
            m = None if len(present) == 1 else chunk == i
            yield i, m, (ids if m is None else ids[m]) - self.starts[i]

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for chunks in (*self.k, *self.v) for t in chunks)

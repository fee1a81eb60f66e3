"""KVArena: per-request blocks survive growth, batches gather exactly what was stored, memory follows each request."""

import torch

from rsd_ray.models.arena import KVArena
from rsd_ray.models.decode_cache import GrowingCache, GrowingLayer
from rsd_ray.models.kv_sizes import BLOCK


def batch_of(values: torch.Tensor) -> GrowingCache:
    """A one-layer batch cache holding `values` [B, H, T, D] as keys and (negated) values."""
    return GrowingCache([GrowingLayer(0, values.clone(), -values.clone(), length=values.shape[2])])


def test_store_then_gather_round_trips_through_growth_and_slot_reuse():
    arena = KVArena(num_layers=1)
    slots = [arena.alloc() for _ in range(20)]  # past the first 8 rows: the arena grows
    assert len(set(slots)) == 20
    # each slot s gets 70 + s positions (past the first 64: the length grows too), value = s * 1000 + position
    for s in slots:
        n = 70 + s
        vals = (s * 1000 + torch.arange(n, dtype=torch.float32)).view(1, 1, n, 1).expand(1, 2, n, 3)
        arena.store(batch_of(vals), [0], [0], [n], [s], [0])
    pick = [slots[3], slots[17], slots[2]]  # slots >= 2 hold at least 72 positions
    got = arena.gather(pick, cached=72, extra=5)
    k, v = got.layers[0].keys, got.layers[0].values
    assert k.shape == (3, 2, 72, 3)
    for row, s in enumerate(pick):
        expect = s * 1000 + torch.arange(72, dtype=torch.float32)
        assert torch.equal(k[row, 0, :, 0], expect) and torch.equal(v[row, 1, :, 2], -expect)
    # the room is there: appending writes in place, no copy of the batch
    buf = got.layers[0]._k
    got.layers[0].update(torch.zeros(3, 2, 5, 3), torch.zeros(3, 2, 5, 3))
    assert got.layers[0]._k is buf and got.layers[0].keys.shape[2] == 77

    arena.release([slots[5]])
    assert arena.alloc() == slots[5]  # a released row is reused, zeroed
    assert not arena.gather([slots[5]], cached=72, extra=0).layers[0].keys.any()


def test_store_copies_each_rows_range_to_its_own_offset():
    arena = KVArena(num_layers=1)
    a, b = arena.alloc(), arena.alloc()
    vals = torch.arange(2 * 6, dtype=torch.float32).view(2, 1, 6, 1)
    # row 0's columns 4..5 go to slot a at 10..11; row 1's columns 1..5 to slot b at 0..4
    arena.store(batch_of(vals), [0, 1], [4, 1], [2, 5], [a, b], [10, 0])
    got = arena.gather([a, b], cached=12, extra=0).layers[0].keys
    assert got[0, 0, 10:12, 0].tolist() == [4.0, 5.0]
    assert got[1, 0, 0:5, 0].tolist() == [7.0, 8.0, 9.0, 10.0, 11.0]


def fill(arena: KVArena, slot: int, n: int, value: torch.Tensor | float) -> None:
    """Store n positions [1, 2 heads, n, 3 dim] of `value` into `slot` (keys `value`, values its negation)."""
    vals = (torch.zeros(1, 2, n, 3) + value)
    arena.store(batch_of(vals), [0], [0], [n], [slot], [0])


def test_memory_is_the_requests_own_contexts_in_blocks_not_rows_x_longest():
    arena = KVArena(num_layers=1, limit=4096)
    long, short = arena.alloc(), [arena.alloc() for _ in range(15)]
    fill(arena, long, 4000, 1.0)
    for s in short:
        fill(arena, s, 100, 2.0)
    per_block = 2 * 2 * BLOCK * 3 * 4  # keys + values, 2 heads, BLOCK positions, dim 3, float32
    own = -(-4000 // BLOCK) + 15 * -(-100 // BLOCK) + 1  # each request's own blocks, and the zero block
    rows_x_longest = 16 * 4000 * 2 * 2 * 3 * 4
    held = arena.nbytes()
    assert own * per_block <= held <= 2 * own * per_block  # its own blocks, plus growth slack under 2x
    assert held < rows_x_longest / 5
    # a released request's blocks serve the next one: a new 4,000-token request does not grow the pool
    arena.release([long])
    fill(arena, arena.alloc(), 4000, 3.0)
    assert arena.nbytes() == held


def test_released_blocks_are_reused_zeroed():
    arena = KVArena(num_layers=1, limit=4096)
    first, other = arena.alloc(), arena.alloc()
    fill(arena, other, 200, 5.0)
    # finite, large; with the zero block and `other`'s 200 // BLOCK + 1, every block of the first chunk is taken
    n = (32 - 1 - (200 // BLOCK + 1)) * BLOCK
    garbage = torch.randn(1, 2, n, 3, generator=torch.Generator().manual_seed(0)) * 1e3
    fill(arena, first, n, garbage)
    held = arena.nbytes()
    arena.release([first])
    again = arena.alloc()
    fill(arena, again, 10, 7.0)
    assert arena.nbytes() == held  # no new chunk: the freed blocks were taken again
    # a batch of the new request (10 positions) and a longer one reads the new one's masked columns 10..199
    got = arena.gather([again, other], cached=200, extra=0).layers[0]
    assert torch.equal(got.keys[0, :, :10], torch.full((2, 10, 3), 7.0))
    assert not got.keys[0, :, 10:].any() and not got.values[0, :, 10:].any()  # zeroed, not the old garbage
    assert torch.equal(got.keys[1], torch.full((2, 200, 3), 5.0))

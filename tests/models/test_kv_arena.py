"""KVArena: per-request rows survive growth, batches gather exactly what was stored."""

import torch

from rsd_ray.models.arena import KVArena
from rsd_ray.models.decode_cache import GrowingCache, GrowingLayer


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

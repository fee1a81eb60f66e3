"""How a model's KV arena and a batch's decode cache grow, and the most they can hold.

One place for the engine (models/block_pool.py, arena.py and decode_cache.py grow by these
rules) and for `rsd-ray plan` (cluster/plan.py bounds memory with the same rules), so the
plan's figure is the engine's, not a formula beside it. Pure arithmetic in
token slots (one slot = one token's keys and values in every layer).

- The arena is paged: a pool of BLOCK-token blocks, a request holding the blocks
  for the most positions it has stored (rounded up to a block) until it is
  released. Block 0 is a shared zero block, never handed out.
- The pool grows by half (at least MIN_BLOCKS) when no block is free, adding a
  chunk, never copying: at most 1.5x what the live requests hold, plus MIN_BLOCKS.
- A batched call gathers its rows into a cache with `DECODE_ROOM` spare
  columns (and at least BLOCK - 1: a gather copies whole blocks); a step longer
  than that grows it by a quarter. Its columns are not positions: rows are laid
  out [cached][hole][pad][new], so a batch of one long cached row and one long
  new step holds up to twice a request's tokens.
"""

from __future__ import annotations

# Tokens per block. 64: the zoo's 60-150-token contexts take 1 to 3 blocks (a short request
# holds at most 63 slots it does not use), a real 1,000-4,000-token one 16 to 63 (under 7% rounding
# at 1,000). Smaller blocks waste less but a gather indexes more of them (one index entry per
# block and row, each copying BLOCK x dim values per head); 16 (a GPU paged-attention kernel's)
# would make a 4,000-token row 250 entries.
BLOCK = 64
MIN_BLOCKS = 32  # the first chunk, and the least a growth adds: 2,048 tokens
DECODE_ROOM = 32  # columns reserved for a decode loop: a typical step, appended in place
MIN_GROWTH = 64


def blocks_for(tokens: int) -> int:
    """Blocks holding positions [0, tokens)."""
    return -(-tokens // BLOCK)


def grown_blocks(total: int) -> int:
    """Pool blocks after growing from `total` (by half: a chunk, not a copy; the first chunk MIN_BLOCKS)."""
    return total + max(MIN_BLOCKS, total // 2)


def most_blocks(live: int, tokens: int) -> int:
    """Pool blocks at most once `live` requests hold at most `tokens` positions each (plus the zero block):
    the pool grows only when every block is taken."""
    need = live * blocks_for(tokens) + 1
    total = 0
    while total < need:
        total = grown_blocks(total)
    return total


def gather_room(extra: int) -> int:
    """Columns a gathered batch cache holds past its cached prefix."""
    return max(extra, BLOCK - 1)


def grown_room(end: int, limit: int) -> int:
    """Decode-cache columns after running out of room at `end`."""
    step = end + max(MIN_GROWTH, end // 4)
    return max(end, min(limit, step)) if end < limit else step


def most_batch_length(tokens: int, limit: int) -> int:
    """A gathered batch cache's columns at most: the longest cached prefix of one row plus the
    longest new segment and step of another (each at most `tokens`), its room, or that grown."""
    return max(tokens + gather_room(tokens + DECODE_ROOM), grown_room(2 * tokens, limit))

"""How a model's KV arena and a batch's decode cache grow, and the most they can hold.

One place for the engine (models/arena.py and decode_cache.py grow by these rules) and for
`rsd-ray plan` (cluster/plan.py bounds memory with the same rules), so the
plan's figure is the engine's, not a formula beside it. Pure arithmetic in
token slots (one slot = one token's keys and values in every layer).

- Arena rows double (from 8) when every row is taken: 96 live requests hold 128 rows.
- Arena columns double past the longest context seen, but not past the
  model's context (`limit`) while that is enough; a request that really needs
  more (a PRM input may be a little longer than the generator's) grows it by
  a quarter, never a column at a time.
- A batched call gathers its rows into a cache with `DECODE_ROOM` spare
  columns; a step longer than that grows it by a quarter. Its columns are not
  positions: rows are laid out [cached][hole][pad][new], so a batch of one
  long cached row and one long new step holds up to twice a request's tokens.
"""

from __future__ import annotations

MIN_ROWS = 8
MIN_LENGTH = 64
MIN_GROWTH = 64
DECODE_ROOM = 32  # columns reserved for a decode loop: a typical step, appended in place


def grown_rows(rows: int) -> int:
    return max(MIN_ROWS, 2 * rows)


def grown_length(need: int, old: int, limit: int) -> int:
    """Arena columns after growing from `old` to hold `need`."""
    if need <= limit:
        return max(need, min(limit, max(MIN_LENGTH, 2 * old)))
    return max(need, old + max(MIN_GROWTH, old // 4))  # past the context: rare, and each copy is big


def grown_room(end: int, limit: int) -> int:
    """Decode-cache columns after running out of room at `end`."""
    step = end + max(MIN_GROWTH, end // 4)
    return max(end, min(limit, step)) if end < limit else step


def most_rows(live: int) -> int:
    """Arena rows once `live` requests are in flight at the same time."""
    rows = 0
    while rows < live:
        rows = grown_rows(rows)
    return rows


def most_length(tokens: int, limit: int) -> int:
    """Arena columns at most, when no request holds more than `tokens` (old < need <= tokens)."""
    if tokens <= limit:
        return max(tokens, min(limit, max(MIN_LENGTH, 2 * tokens)))
    return grown_length(tokens, tokens - 1, limit)


def most_batch_length(tokens: int, limit: int) -> int:
    """A gathered batch cache's columns at most: the longest cached prefix of one row plus the
    longest new segment and step of another (each at most `tokens`), its room, or that grown."""
    return max(2 * tokens + DECODE_ROOM, grown_room(2 * tokens, limit))

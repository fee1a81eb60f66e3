"""How a model's KV arena and a batch's decode cache grow, and the most they can hold.

One place for the engine (models/kv.py grows by these rules) and for
`rsd-ray plan` (cluster/plan.py bounds memory with the same rules), so the
plan's figure is the engine's, not a formula beside it. Pure arithmetic in
token slots (one slot = one token's keys and values in every layer).

- Arena rows double (from 8) when every row is taken: 96 live requests hold 128 rows.
- Arena columns double past the longest context seen, but never past the
  model's context (`limit`) unless a request really needs more (a PRM input
  may be a little longer than the generator's).
- A batched call gathers its rows into a cache with `DECODE_ROOM` spare
  columns; a step longer than that grows it by a quarter, again capped at `limit`.
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
    return max(need, min(limit, max(MIN_LENGTH, 2 * old)))


def grown_room(end: int, limit: int) -> int:
    """Decode-cache columns after running out of room at `end`."""
    return max(end, min(limit, end + max(MIN_GROWTH, end // 4)))


def most_rows(live: int) -> int:
    """Arena rows once `live` requests are in flight at the same time."""
    rows = 0
    while rows < live:
        rows = grown_rows(rows)
    return rows


def most_length(tokens: int, limit: int) -> int:
    """Arena columns at most, when no request holds more than `tokens` (old < need <= tokens)."""
    return max(tokens, min(limit, max(MIN_LENGTH, 2 * tokens)))


def most_batch_length(tokens: int, limit: int) -> int:
    """A gathered batch cache's columns at most: the longest context plus its room, or grown."""
    return max(tokens + DECODE_ROOM, grown_room(tokens, limit))

"""Raw rows to the rows a run solves: ids, repeated ids, rows already done, the limit.

The one stateful reader step both backends share: `rows` on the local
backend, the Ray Data stage (`__call__`, a single actor) on the Ray backend.

Its state (the ids seen, the rows numbered) is a function of the input prefix
it has read, so it survives its own death: a restarted stage (Ray restarts
the actor and retries its batch) that gets a batch starting past where it
stands first reads the rows in between from the source, as if it had seen
them, and a batch from before where it stands makes it start over.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

import pyarrow as pa

from rsd_ray.config import DataConfig
from rsd_ray.data.rows import Row, normalize, preset_for
from rsd_ray.data.source import parse

ROW_SCHEMA = pa.schema([*((f, pa.string()) for f in ("id", "problem", "reference", "kind", "error")), ("seq", pa.int64())])


class RowFilter:
    """Raw rows to Rows: ids for rows without one, duplicate ids marked, done rows skipped.

    Stateful (it remembers the ids seen), so it sees the rows once and in input
    order: a repeated id keeps the same meaning on every run.
    """

    def __init__(self, data: DataConfig, done: set[str], limit: int | None, source=None):
        self.preset = preset_for(data)
        self.done = done
        self.limit = limit
        self.source = source  # the Ray stage's input (data/source.Source), read again to catch up
        self.seen: dict[str, int] = {}
        self.seq = 0  # rows yielded so far
        self.next_pos = 0  # the Ray stage: the position of the next row it expects

    def rows(self, pos_raw: Iterable[tuple[int, str]]) -> Iterator[Row]:
        for pos, raw in pos_raw:
            if self.limit is not None and pos >= self.limit:
                continue
            row = normalize(parse(raw), pos, self.preset)
            if row.id in self.seen:
                row = replace(row, id=f"{row.id}#dup{pos}",
                              error=f"duplicate id {row.id!r} (first at row {self.seen[row.id]})")
            else:
                self.seen[row.id] = pos
            if row.id not in self.done:
                yield replace(row, seq=self.seq)
                self.seq += 1

    def __call__(self, batch: pa.Table) -> pa.Table:  # the Ray Data stage
        pos = batch["pos"].to_pylist()
        if pos and pos[0] != self.next_pos:
            self._catch_up(pos[0])
        rows = list(self.rows(zip(pos, batch["raw"].to_pylist())))
        self.next_pos = pos[-1] + 1 if pos else self.next_pos
        return pa.Table.from_pylist([r.__dict__ for r in rows], schema=ROW_SCHEMA)

    def _catch_up(self, to: int) -> None:
        """Read the input's rows [next_pos, to) as if seen (after a restart); from 0 if behind."""
        if to < self.next_pos:
            self.seen, self.seq, self.next_pos = {}, 0, 0
        prefix = ((p, raw) for p, raw in self.source.iter_local() if self.next_pos <= p < to)
        for _ in self.rows(prefix):
            pass
        self.next_pos = to

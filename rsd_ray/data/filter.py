"""Raw rows to the rows a run solves: ids, repeated ids, rows already done, the limit.

The one stateful reader step both backends share: `rows` on the local
backend, the Ray Data stage (`__call__`, a single actor) on the Ray backend.
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

    def __init__(self, data: DataConfig, done: set[str], limit: int | None):
        self.preset = preset_for(data)
        self.done = done
        self.limit = limit
        self.seen: dict[str, int] = {}
        self.seq = 0  # rows yielded so far

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
        rows = list(self.rows(zip(batch["pos"].to_pylist(), batch["raw"].to_pylist())))
        return pa.Table.from_pylist([r.__dict__ for r in rows], schema=ROW_SCHEMA)

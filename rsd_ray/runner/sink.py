"""A folder of Parquet parts, committed one at a time: the output of a streamed run.

`DIR/results.parquet/` is a folder (pyarrow, pandas, Spark and Ray Data all
read it as one table). Each part is written under a hidden temporary name,
flushed to disk and renamed into place, so a part is either whole or absent;
readers skip hidden files. The committed parts are also the job's ledger:
a row is done exactly when its id is in a committed part, which is what
makes a rerun after a kill complete the job with every row exactly once.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

_PART = re.compile(r"part-(\d+)\.parquet$")


class PartSink:
    def __init__(self, folder: Path, schema: pa.Schema):
        self.folder = folder
        self.schema = schema
        if folder.is_file():  # a single-file table from an older run: not resumable, never overwritten
            raise FileExistsError(f"{folder} is a file; give a new --output")
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(".part-*.tmp"):  # a write cut short by a kill
            stale.unlink()
        numbers = [int(m.group(1)) for f in folder.iterdir() if (m := _PART.match(f.name))]
        self._next = max(numbers, default=-1) + 1

    def parts(self) -> list[Path]:
        return sorted(f for f in self.folder.iterdir() if _PART.match(f.name))

    def done_ids(self) -> set[str]:
        """Ids in committed parts (read column by column: a few bytes per row)."""
        done: set[str] = set()
        for part in self.parts():
            done.update(pq.read_table(part, columns=["id"])["id"].to_pylist())
        return done

    @property
    def next_number(self) -> int:
        return self._next

    def write(self, table: pa.Table, number: int | None = None) -> Path | None:
        """Commit one part; `number` names it (parts written together across sinks share one)."""
        if table.num_rows == 0:
            return None
        n = self._next if number is None else number
        final = self.folder / f"part-{n:06d}.parquet"
        tmp = self.folder / f".{final.name}.tmp"
        self._next = max(self._next, n + 1)
        with open(tmp, "wb") as f:
            pq.write_table(table.cast(self.schema), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
        _fsync_dir(self.folder)
        return final

    def read(self, columns: list[str] | None = None) -> pa.Table:
        parts = self.parts()
        if not parts:
            return self.schema.empty_table().select(columns) if columns else self.schema.empty_table()
        return pa.concat_tables(pq.read_table(p, columns=columns) for p in parts)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

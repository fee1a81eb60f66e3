"""A folder of Parquet parts, committed one at a time: the output of a streamed run.

`DIR/results.parquet/` is a folder (pyarrow, pandas, Spark and Ray Data all
read it as one table). Each part is written under a hidden temporary name of
its own, flushed to disk and hard-linked to its final name, so a part is
either whole or absent; readers skip hidden files. The committed parts are
also the job's ledger: a row is done exactly when its id is in a committed
part, which is what makes a rerun after a kill complete the job with every
row exactly once.

A committed part is never replaced: the link fails if the name exists, and
the writer takes the next number. One job writes an output (runner/lock.py),
but should two writers ever share a folder, neither can destroy the other's
rows; only the cleanup of temporaries at start assumes the folder's one writer.

A committed part that cannot be read (a copy cut short, a disk error) would
stop every resume: it is moved aside into `<folder>.damaged/`, named in one
line, and its rows, no longer in the ledger, are solved again.
"""

from __future__ import annotations

import os
import re
import sys
import uuid
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
        for part in self.parts():
            try:
                pq.ParquetFile(part).metadata  # the footer: what a cut-short copy loses first
            except (pa.ArrowException, OSError) as e:
                self._set_aside(part, e)
        numbers = [int(m.group(1)) for f in folder.iterdir() if (m := _PART.match(f.name))]
        self._next = max(numbers, default=-1) + 1

    def parts(self) -> list[Path]:
        return sorted(f for f in self.folder.iterdir() if _PART.match(f.name))

    def done_ids(self) -> set[str]:
        """Ids in committed parts (read column by column: a few bytes per row)."""
        done: set[str] = set()
        for part in self.parts():
            try:
                done.update(pq.read_table(part, columns=["id"])["id"].to_pylist())
            except (pa.ArrowException, OSError) as e:  # a damaged page past an intact footer
                self._set_aside(part, e)
        return done

    def _set_aside(self, part: Path, why: Exception) -> None:
        aside = self.folder.with_name(self.folder.name + ".damaged")
        aside.mkdir(exist_ok=True)
        os.replace(part, aside / part.name)  # kept for a look; the number may be taken again
        print(f"rsd-ray: warning: {part} cannot be read ({str(why).splitlines()[0]}): moved to {aside}/; "
              "its rows are solved again", file=sys.stderr, flush=True)

    @property
    def next_number(self) -> int:
        return self._next

    def write(self, table: pa.Table, number: int | None = None) -> Path | None:
        """Commit one part under the next free number, or exactly `number` (parts written together
        across sinks share one; FileExistsError if it is taken)."""
        if table.num_rows == 0:
            return None
        tmp = self.folder / f".part-{uuid.uuid4().hex}.tmp"  # a name no other writer shares
        with open(tmp, "xb") as f:
            pq.write_table(table.cast(self.schema), f)
            f.flush()
            os.fsync(f.fileno())
        n = self._next if number is None else number
        try:
            while True:
                final = self.folder / f"part-{n:06d}.parquet"
                try:
                    _commit(tmp, final)
                    break
                except FileExistsError:
                    if number is not None:
                        raise
                    n += 1  # another writer took it since our listing
        finally:
            tmp.unlink(missing_ok=True)  # moved already where hard links are missing
        self._next = max(self._next, n + 1)
        _fsync_dir(self.folder)
        return final

    def read(self, columns: list[str] | None = None) -> pa.Table:
        parts = self.parts()
        if not parts:
            return self.schema.empty_table().select(columns) if columns else self.schema.empty_table()
        return pa.concat_tables(self._read(p, columns) for p in parts)

    def _read(self, part: Path, columns: list[str] | None) -> pa.Table:
        """One part; a column it lacks (a part written before the column existed) reads as nulls."""
        names = set(pq.ParquetFile(part).schema_arrow.names)
        cols = columns or self.schema.names
        t = pq.read_table(part, columns=[c for c in cols if c in names])
        for c in cols:
            if c not in names:
                t = t.append_column(self.schema.field(c), pa.nulls(t.num_rows, self.schema.field(c).type))
        return t.select(cols)


def _commit(tmp: Path, final: Path) -> None:
    """Give `tmp` the name `final`, failing with FileExistsError if a part holds it already."""
    try:
        os.link(tmp, final)  # unlike os.replace, never onto a committed part
    except FileExistsError:
        raise
    except OSError:  # no hard links here (gcsfuse, blobfuse, some SMB mounts): claim the name, then move
        os.close(os.open(final, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        os.replace(tmp, final)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

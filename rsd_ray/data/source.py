"""Where input rows come from: a JSONL or Parquet file, a folder of them, or a glob.

Rows are streamed, never held whole. Each row travels as (position, raw JSON
text) so that a line that is not JSON reaches `normalize` and becomes a row
with an error instead of failing the read. The position (global, in file
order) gives a row without an id a stable one, `row-<n>`, the same on every
run: that is what resume keys on.

The same per-file reader serves the local backend (plain iteration) and the
Ray backend (`RowsDatasource`, a Ray Data file datasource).
"""

from __future__ import annotations

import glob as globlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# What each Ray Data read task and stage actor asks (here and runner/stream.py; cluster/fit.py counts
# it): reading and the thin stage actors are light, and they must never wait for a core
DATA_STAGE_CPUS = 0.05

SUFFIXES = (".jsonl", ".json", ".parquet")
BLOCK_ROWS = 1024  # rows per block a read yields: bounds the reader's memory


class InputError(ValueError):
    """The input path names no readable rows."""


@dataclass(frozen=True)
class BadLine:
    """A JSONL line that is not JSON: kept as a row so that it is reported, not dropped."""

    error: str


def input_files(path: str | Path) -> list[Path]:
    """The files a path means, sorted, so that positions are the same on every run."""
    p = Path(path)
    if p.is_file():
        files = [p]
    elif p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in SUFFIXES and not f.name.startswith("."))
    else:
        files = sorted(Path(f) for f in globlib.glob(str(path), recursive=True) if Path(f).is_file())
        if not files:
            raise InputError(f"input not found: {path}")
    bad = [f for f in files if f.suffix not in SUFFIXES]
    if bad:
        raise InputError(f"input {bad[0]} is neither JSONL (.jsonl, .json) nor Parquet (.parquet)")
    if not files:
        raise InputError(f"input {path} holds no .jsonl, .json or .parquet file")
    return files


def count_rows(file: Path) -> int:
    """Rows in a file without reading them: Parquet metadata, or non-blank lines."""
    if file.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(file).metadata.num_rows
    with open(file, "rb") as f:
        return sum(1 for line in f if line.strip())


def iter_raw(file: Path, stream=None) -> Iterator[tuple[int, str]]:
    """(index in file, raw JSON text) per row, streamed; `stream` is an open binary file (Ray's)."""
    import io

    own = stream is None
    f = open(file, "rb") if own else stream
    try:
        if file.suffix == ".parquet":
            import pyarrow.parquet as pq

            n = 0
            for batch in pq.ParquetFile(f).iter_batches(batch_size=BLOCK_ROWS):
                for row in batch.to_pylist():
                    yield n, json.dumps(row, default=str)
                    n += 1
            return
        n = 0
        for line in io.TextIOWrapper(f, encoding="utf-8", errors="replace"):
            if line.strip():
                yield n, line
                n += 1
    finally:
        if own:
            f.close()


def parse(raw: str) -> object:
    """The row a raw text holds, or a `BadLine` that normalize (data/rows.py) turns into a row error."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError as e:
        return BadLine(f"not JSON: {e.msg} at column {e.colno}")


class Source:
    """An input as files plus each file's first global position."""

    def __init__(self, path: str | Path, limit: int | None = None):
        self.files = input_files(path)
        counts = [count_rows(f) for f in self.files]
        self.offsets = [sum(counts[:i]) for i in range(len(counts))]
        total = sum(counts)
        if total == 0:  # a job of no rows is almost always a wrong path or an unfinished export
            raise InputError(f"input {path} has no rows ({len(self.files)} empty file(s))")
        self.total = min(total, limit) if limit is not None else total
        self.limit = limit

    def iter_local(self) -> Iterator[tuple[int, str]]:
        """(global position, raw) for every row up to the limit: the local backend's reader."""
        for file, offset in zip(self.files, self.offsets):
            for i, raw in iter_raw(file):
                if self.limit is not None and offset + i >= self.limit:
                    return
                yield offset + i, raw

    def ray_dataset(self):
        """The same rows as a Ray Data dataset with columns pos, raw (one read task per file)."""
        import ray.data

        # The limit is applied where rows are normalized (pos < limit): no ordering needed.
        return ray.data.read_datasource(RowsDatasource([str(f.resolve()) for f in self.files], self.offsets),
                                        num_cpus=DATA_STAGE_CPUS)


def _rows_datasource_class():
    from ray.data.datasource import FileBasedDatasource

    class _RowsDatasource(FileBasedDatasource):
        """JSONL or Parquet files as blocks of (pos, raw); positions from the driver's offsets."""

        def __init__(self, paths: list[str], offsets: list[int]):
            super().__init__(paths, file_extensions=[s.lstrip(".") for s in SUFFIXES])
            self._offsets = {str(Path(p).resolve()): o for p, o in zip(paths, offsets)}

        def _read_stream(self, f, path: str):
            import pyarrow as pa

            offset = self._offsets[str(Path(path).resolve())]
            pos, raw = [], []
            for i, text in iter_raw(Path(path), f):
                pos.append(offset + i)
                raw.append(text)
                if len(pos) >= BLOCK_ROWS:
                    yield pa.table({"pos": pa.array(pos, pa.int64()), "raw": pa.array(raw, pa.string())})
                    pos, raw = [], []
            if pos:
                yield pa.table({"pos": pa.array(pos, pa.int64()), "raw": pa.array(raw, pa.string())})

    return _RowsDatasource


def RowsDatasource(paths: list[str], offsets: list[int]):  # noqa: N802 (a class made on first use: Ray stays optional)
    return _rows_datasource_class()(paths, offsets)

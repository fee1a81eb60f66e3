"""Parts are committed whole or not at all, and they are the ledger a resumed job reads."""

import os
import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rsd_ray.runner.sink import PartSink

SCHEMA = pa.schema([("id", pa.string()), ("x", pa.int64())])


def _t(ids):
    return pa.table({"id": ids, "x": list(range(len(ids)))}, schema=SCHEMA)


def test_parts_number_on_and_the_folder_reads_as_one_table(tmp_path):
    sink = PartSink(tmp_path / "r.parquet", SCHEMA)
    sink.write(_t(["a", "b"]))
    sink.write(_t([]))  # nothing to commit: no empty part
    sink.write(_t(["c"]))
    assert [p.name for p in sink.parts()] == ["part-000000.parquet", "part-000001.parquet"]
    assert sorted(pq.read_table(tmp_path / "r.parquet")["id"].to_pylist()) == ["a", "b", "c"]
    again = PartSink(tmp_path / "r.parquet", SCHEMA)
    assert again.done_ids() == {"a", "b", "c"} and again.next_number == 2


def test_a_write_cut_short_leaves_no_part_and_is_cleaned_up(tmp_path):
    folder = tmp_path / "r.parquet"
    sink = PartSink(folder, SCHEMA)
    sink.write(_t(["a"]))
    (folder / ".part-000001.parquet.tmp").write_bytes(b"PAR1 half a file")  # what a kill mid-write leaves
    assert pq.read_table(folder).num_rows == 1  # readers skip hidden files
    resumed = PartSink(folder, SCHEMA)
    assert not [f for f in os.listdir(folder) if f.startswith(".")]
    assert resumed.done_ids() == {"a"}


def test_an_explicit_number_keeps_parts_of_one_batch_aligned(tmp_path):
    a, b = PartSink(tmp_path / "a", SCHEMA), PartSink(tmp_path / "b", SCHEMA)
    n = a.next_number
    b.write(_t(["x"]), n)
    a.write(_t(["x"]), n)
    assert [p.name for p in a.parts()] == [p.name for p in b.parts()]


def test_a_single_file_output_is_never_overwritten(tmp_path):
    (tmp_path / "r.parquet").write_bytes(b"x")
    with pytest.raises(FileExistsError):
        PartSink(tmp_path / "r.parquet", SCHEMA)


def test_two_sinks_writing_one_folder_at_once_lose_no_row(tmp_path):
    folder = tmp_path / "r.parquet"
    sinks = [PartSink(folder, SCHEMA), PartSink(folder, SCHEMA)]  # both listed the folder empty: both start at 0
    start = threading.Barrier(len(sinks))

    def write_all(k: int, sink: PartSink) -> None:
        start.wait()
        for i in range(20):
            sink.write(_t([f"{k}-{i}"]))

    threads = [threading.Thread(target=write_all, args=(k, s)) for k, s in enumerate(sinks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = pq.read_table(folder)["id"].to_pylist()
    assert sorted(ids) == sorted(f"{k}-{i}" for k in range(2) for i in range(20))
    assert not [f for f in os.listdir(folder) if f.startswith(".")]


def test_a_taken_explicit_number_is_refused_and_the_part_kept(tmp_path):
    sink = PartSink(tmp_path / "r.parquet", SCHEMA)
    sink.write(_t(["a"]), 3)
    with pytest.raises(FileExistsError):
        sink.write(_t(["b"]), 3)
    assert sink.done_ids() == {"a"}
    assert not [f for f in os.listdir(tmp_path / "r.parquet") if f.startswith(".")]

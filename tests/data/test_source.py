"""Inputs as files, folders and globs; stable positions; the row filter's ids, repeats, resume and limit."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rsd_ray.config import DataConfig
from rsd_ray.data.filter import RowFilter
from rsd_ray.data.source import InputError, Source, input_files


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps({"problem": f"a{i}"}) for i in range(3)) + "\n\n")
    pq.write_table(pa.table({"id": ["p0", "p1"], "problem": ["b0", "b1"], "choices": [["x", "y"], ["z"]]}),
                   tmp_path / "b.parquet")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.jsonl").write_text('{"problem": "c0"}\nnot json\n')
    (tmp_path / ".hidden.jsonl").write_text('{"problem": "never"}\n')
    return tmp_path


def test_a_folder_is_every_data_file_in_it_sorted(tree):
    assert [f.name for f in input_files(tree)] == ["a.jsonl", "b.parquet", "c.jsonl"]
    assert [f.name for f in input_files(str(tree / "*.jsonl"))] == ["a.jsonl"]
    assert [f.name for f in input_files(str(tree / "**" / "*.jsonl"))] == ["a.jsonl", "c.jsonl"]


def test_bad_inputs_are_one_clear_error(tree):
    with pytest.raises(InputError, match="not found"):
        input_files(tree / "nope*.jsonl")
    (tree / "x.csv").write_text("a,b\n")
    with pytest.raises(InputError, match="neither JSONL"):
        input_files(tree / "x.csv")
    (tree / "empty").mkdir()
    with pytest.raises(InputError, match="holds no"):
        input_files(tree / "empty")


def test_positions_run_across_files_and_the_limit_cuts_in_file_order(tree):
    src = Source(tree)
    assert src.total == 7 and src.offsets == [0, 3, 5]
    rows = list(src.iter_local())
    assert [pos for pos, _ in rows] == list(range(7))
    assert json.loads(rows[3][1]) == {"id": "p0", "problem": "b0", "choices": ["x", "y"]}
    assert [pos for pos, _ in Source(tree, limit=4).iter_local()] == [0, 1, 2, 3]


def test_row_filter_gives_ids_marks_repeats_and_skips_done_rows():
    raw = [(0, json.dumps({"id": "x", "problem": "1"})), (1, json.dumps({"problem": "2"})),
           (2, json.dumps({"id": "x", "problem": "3"})), (3, "{bad"), (4, json.dumps({"id": "y", "problem": "5"}))]
    rows = list(RowFilter(DataConfig(), set(), None).rows(raw))
    assert [r.id for r in rows] == ["x", "row-1", "x#dup2", "row-3", "y"]
    assert "duplicate id 'x'" in rows[2].error and "not JSON" in rows[3].error
    # a rerun skips what is done and gives every other row the same id as before
    again = list(RowFilter(DataConfig(), {"x", "x#dup2"}, None).rows(raw))
    assert [r.id for r in again] == ["row-1", "row-3", "y"]
    assert [r.id for r in RowFilter(DataConfig(), set(), 2).rows(raw)] == ["x", "row-1"]

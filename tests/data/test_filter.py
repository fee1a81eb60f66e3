"""The row filter's order numbers and its Ray Data stage (which survives a restart); the data modules
import one way only."""

import ast
import json
from pathlib import Path

import pyarrow as pa

import rsd_ray.data
from rsd_ray.config import DataConfig
from rsd_ray.data.filter import ROW_SCHEMA, RowFilter
from rsd_ray.data.source import Source

RAW = [(0, json.dumps({"id": "a", "problem": "1"})), (1, json.dumps({"id": "b", "problem": "2"})),
       (2, "{bad"), (3, json.dumps({"id": "c", "problem": "4"}))]


def test_seq_numbers_the_rows_it_yields_in_input_order_skipping_done_ones():
    assert [(r.id, r.seq) for r in RowFilter(DataConfig(), {"b"}, None).rows(RAW)] == [("a", 0), ("row-2", 1), ("c", 2)]
    f = RowFilter(DataConfig(), set(), None)  # one filter sees the input once: seq goes on across batches
    assert [r.seq for r in f.rows(RAW[:2])] + [r.seq for r in f.rows(RAW[2:])] == [0, 1, 2, 3]


def test_the_ray_stage_gives_a_table_of_rows():
    batch = pa.table({"pos": [p for p, _ in RAW], "raw": [r for _, r in RAW]})
    out = RowFilter(DataConfig(), set(), 3)(batch)
    assert out.schema == ROW_SCHEMA and out["id"].to_pylist() == ["a", "b", "row-2"]
    assert out["seq"].to_pylist() == [0, 1, 2] and "not JSON" in out["error"].to_pylist()[2]


def test_the_data_modules_import_each_other_one_way_only():
    """No circle, not even through an import inside a function (rows and source had one)."""
    pkg = Path(rsd_ray.data.__file__).parent
    graph = {p.stem: {n.module.rsplit(".", 1)[1] for n in ast.walk(ast.parse(p.read_text()))
                      if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("rsd_ray.data.")}
             for p in pkg.glob("*.py")}

    def reaches(a, b, seen=()):
        return any(m == b or (m not in seen and reaches(m, b, seen + (m,))) for m in graph.get(a, ()))

    assert not [m for m in graph if reaches(m, m)]
    assert graph["filter"] >= {"rows", "source"} and "rows" not in graph["source"]


def _input(tmp_path, n=30):
    lines = [{"id": f"p{i % 20}", "problem": f"{i}+1=?", "answer": str(i + 1)} for i in range(n)]  # ids repeat from 20
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return path, [json.dumps(r) for r in lines]


def _batch(raws, lo, hi):
    return pa.table({"pos": list(range(lo, hi)), "raw": raws[lo:hi]})


def test_a_restarted_stage_numbers_and_marks_rows_as_the_first_one_did(tmp_path):
    path, raws = _input(tmp_path)
    source = Source(path)
    make = lambda: RowFilter(DataConfig(), done={"p3"}, limit=None, source=source)  # noqa: E731
    first = make()
    whole = [first(_batch(raws, lo, lo + 10)).to_pylist() for lo in (0, 10, 20)]
    assert any(r["error"] and "duplicate id" in r["error"] for r in whole[2])  # ids p0.. repeat at 20
    # a fresh instance (the actor restarted) handed the third batch only: the same rows out
    assert make()(_batch(raws, 20, 30)).to_pylist() == whole[2]
    # one that has read ahead and is handed an earlier batch again starts over
    again = make()
    again(_batch(raws, 20, 30))
    assert again(_batch(raws, 10, 20)).to_pylist() == whole[1]

"""The row filter's order numbers and its Ray Data stage; the data modules import one way only."""

import ast
import json
from pathlib import Path

import pyarrow as pa

import rsd_ray.data
from rsd_ray.config import DataConfig
from rsd_ray.data.filter import ROW_SCHEMA, RowFilter

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

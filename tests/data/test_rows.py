"""Input rows: presets for the seven benchmark sets, and one clear error per bad row."""

import json

import pytest

from rsd_ray.data.presets import PRESETS
from rsd_ray.data.rows import normalize, read_rows


@pytest.mark.parametrize("name,refs", [("math500", 500), ("gsm8k", 1319), ("minerva_math", 272),
                                       ("olympiadbench", 675), ("gaokao2023en", 383), ("gpqa", 198),
                                       ("mmlu_stem", 3018)])
def test_presets_read_every_benchmark_row(benchmarks, name, refs):
    rows = [normalize(r, i, PRESETS[name]) for i, r in enumerate(read_rows(benchmarks / name / "test.jsonl"))]
    assert all(r.error is None and r.problem for r in rows)
    assert sum(r.reference is not None for r in rows) == refs
    assert len({r.id for r in rows}) == len(rows)  # ids unique
    if PRESETS[name].kind == "choice":
        assert {r.reference for r in rows} <= set("ABCD") and "\nA. " in rows[0].problem


@pytest.mark.parametrize("raw,error", [
    ({"id": 1}, "missing problem field"),
    ({"id": 2, "problem": "   "}, "empty problem"),
    ({"id": 3, "problem": 42}, "is int, not a string"),
    ({"id": 4, "problem": ["a"]}, "is list, not a string"),
    ([1, 2], "row is not an object"),
])
def test_bad_rows_get_an_error(raw, error):
    row = normalize(raw, 0, PRESETS["zoo"])
    assert error in row.error


def test_unparseable_jsonl_line_is_a_row_error(tmp_path):
    p = tmp_path / "in.jsonl"
    p.write_text(json.dumps({"id": "a", "problem": "1+1=?"}) + "\n{not json\n" + json.dumps({"problem": "2+2=?"}) + "\n")
    rows = [normalize(r, i, PRESETS["zoo"]) for i, r in enumerate(read_rows(p))]
    assert [r.id for r in rows] == ["a", "row-1", "row-2"]
    assert rows[0].error is None and "not JSON" in rows[1].error and rows[2].error is None

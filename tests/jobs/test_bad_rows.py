"""A file mixing good rows with eight kinds of bad ones: every good row answered, every bad row
present with its error, on both backends (the Ray one normalizes rows in its Ray Data stage)."""

import json

import pyarrow.parquet as pq
import pytest

from rsd_ray.cli import main

GOOD = [{"id": f"g{i}", "problem": p, "answer": a} for i, (p, a) in
        enumerate([("12+5-3+7=?", "21"), ("3+4+5+6=?", "18"), ("20-5+1+2=?", "18"), ("9+9-8+1=?", "11")])]
# id (or where the row gets its id) -> (raw line, a fragment of its error)
BAD = {
    "row-2": ("{oops", "not JSON"),
    "row-3": ("[1, 2, 3]", "not an object"),
    "b-missing": (json.dumps({"id": "b-missing", "answer": "1"}), "missing problem"),
    "b-int": (json.dumps({"id": "b-int", "problem": 7}), "not a string"),
    "b-list": (json.dumps({"id": "b-list", "problem": ["1+1=?"]}), "not a string"),
    "b-empty": (json.dumps({"id": "b-empty", "problem": "   "}), "empty problem"),
    "g0#dup8": (json.dumps({"id": "g0", "problem": "1+1+1+1=?"}), "duplicate id"),
    "b-long": (json.dumps({"id": "b-long", "problem": "1+" * 3000 + "1=?"}), "longer than"),
    # the zoo's tokenizer has no "é": it would drop it and answer "12+=?"
    "b-unknown": (json.dumps({"id": "b-unknown", "problem": "12+é=?"}), "cannot encode: 'é'"),
    # math-verify tries to evaluate this tower: the grader's time bound answers for it
    "b-slow": (json.dumps({"id": "b-slow", "problem": "2+2+2+2=?", "answer": "9^{9^{9^{9}}}"}), "timed out"),
}


def _write_input(path):
    lines = [json.dumps(GOOD[0]), json.dumps(GOOD[1])] + [raw for raw, _ in BAD.values()]
    lines.insert(10, json.dumps(GOOD[2]))
    lines.append(json.dumps(GOOD[3]))
    path.write_text("\n".join(lines) + "\n\n")  # a trailing blank line is not a row


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_every_bad_row_is_reported_and_no_good_row_is_lost(tmp_path, backend):
    src = tmp_path / "in.jsonl"
    _write_input(src)
    out = tmp_path / "out"
    assert main(["generate", "--backend", backend, "--input", str(src), "--output", str(out),
                 "--set", "grading.timeout_s=3", "--set", "run.part_rows=4"]) == 0
    rows = pq.read_table(out / "results.parquet").to_pylist()
    by_id = {r["id"]: r for r in rows}
    assert len(rows) == len(by_id) == len(GOOD) + len(BAD)
    for g in GOOD:
        r = by_id[g["id"]]
        assert r["error"] is None and r["response"] and r["correct"] is not None, r
    for rid, (_, fragment) in BAD.items():
        assert by_id[rid]["error"] and fragment in by_id[rid]["error"], (rid, by_id[rid]["error"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows"] == len(rows) and summary["errors"] == len(BAD)

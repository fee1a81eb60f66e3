"""A committed part cut short on disk: the next run of the job names it, sets it aside, and solves its rows again."""

import json

import pyarrow.parquet as pq

from rsd_ray.cli import main

ARGS = ["generate", "--backend", "local", "--mode", "draft", "--limit", "8", "--set", "run.part_rows=4"]


def test_a_damaged_part_is_set_aside_and_its_rows_solved_again(tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*ARGS, "--output", str(out)]) == 0
    folder = out / "results.parquet"
    first = {r["id"]: r["response"] for r in pq.read_table(folder).to_pylist()}
    parts = sorted(folder.glob("part-*.parquet"))
    assert len(parts) == 2 and len(first) == 8
    lost = set(pq.read_table(parts[1], columns=["id"])["id"].to_pylist())
    data = parts[1].read_bytes()
    parts[1].write_bytes(data[: len(data) // 2])  # a copy cut short
    capsys.readouterr()
    assert main([*ARGS, "--output", str(out)]) == 0
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("rsd-ray: warning:")]
    assert len(warnings) == 1 and parts[1].name in warnings[0] and "Traceback" not in err
    again = pq.read_table(folder).to_pylist()
    assert sorted(r["id"] for r in again) == sorted(first)  # every row exactly once
    assert {r["id"]: r["response"] for r in again} == first  # greedy: the same answers
    assert (tmp_path / "out" / "results.parquet.damaged" / parts[1].name).is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows"] == 8 and summary["rows_this_run"] == len(lost)

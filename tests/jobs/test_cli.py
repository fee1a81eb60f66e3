"""The CLI end to end on the zoo (local backend), and bad job input failing early and clearly."""

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from rsd_ray.cli import main

METRICS = {"rows", "errors", "accuracy", "steps_draft_accepted", "steps_draft_rejected", "steps_target",
           "acceptance_rate", "tokens_draft", "tokens_draft_discarded", "tokens_target", "tokens_prm",
           "flops_draft", "flops_target", "flops_prm", "flops_total", "wall_s", "rows_per_s"}
COLUMNS = {"id", "problem", "response", "pred", "correct", "steps", "tokens_draft", "tokens_draft_discarded",
           "tokens_target", "tokens_prm", "error"}


def test_eval_writes_the_contract(tmp_path, capsys):
    assert main(["eval", "--backend", "local", "--modes", "draft,target,rsd", "--limit", "24",
                 "--output", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["modes"]) == {"draft", "target", "rsd"}
    for mode, m in summary["modes"].items():
        assert METRICS <= set(m), mode
        t = pq.read_table(tmp_path / mode / "results.parquet")
        assert COLUMNS <= set(t.column_names) and t.num_rows == 24 == m["rows"]
        rows = t.to_pylist()
        assert len({r["id"] for r in rows}) == 24 and all(r["error"] is None for r in rows)
        assert m["accuracy"] == sum(r["correct"] for r in rows) / 24
        sources = {s["source"] for r in rows for s in r["steps"]}
        assert sources <= ({"draft", "target"} if mode == "rsd" else {mode})
        for r in rows:
            assert r["response"] == "\n\n".join(s["text"] for s in r["steps"])
    d, t, r = (summary["modes"][k] for k in ("draft", "target", "rsd"))
    assert d["flops_target"] == 0 and t["flops_draft"] == 0 and t["flops_prm"] == 0
    assert r["steps_draft_accepted"] + r["steps_draft_rejected"] > 0 and r["tokens_prm"] > 0
    assert r["flops_total"] == r["flops_draft"] + r["flops_target"] + r["flops_prm"]
    rsd_rows = pq.read_table(tmp_path / "rsd" / "results.parquet").to_pylist()
    for row in rsd_rows:
        assert all((s["reward"] is None) == (s["source"] == "target") for s in row["steps"])
        assert all(s["reward"] >= 0.7 for s in row["steps"] if s["source"] == "draft")
    # the trace viewer prints one solution, each step marked with its source and reward
    capsys.readouterr()
    row = next(r for r in rsd_rows if r["rejected"])  # one where the target rewrote a step
    assert main(["show", str(tmp_path), "--id", row["id"], "--mode", "rsd"]) == 0
    shown = capsys.readouterr().out
    assert row["problem"] in shown and all(s["text"] in shown for s in row["steps"])
    assert shown.count(" draft ") + shown.count(" target ") == len(row["steps"]) + len(row["rejected"])
    assert shown.count("(turned down)") == len(row["rejected"]) == row["steps_draft_rejected"]
    assert all(r["text"] in shown for r in row["rejected"])
    assert main(["show", str(tmp_path), "--id", "no-such-id"]) == 2


def test_generate_writes_one_table_and_top_level_metrics(tmp_path):
    assert main(["generate", "--backend", "local", "--limit", "5", "--output", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert METRICS <= set(summary) and summary["mode"] == "rsd"
    assert pq.read_table(tmp_path / "results.parquet").num_rows == 5


@pytest.mark.parametrize("args,message", [
    (["--input", "/nonexistent.jsonl"], "input not found"),
    (["--set", "rsd.delta=abc"], "rsd.delta must be float"),
    (["--set", "target.path=/no/such/model"], "is not a directory"),
    (["--dataset", "nope"], "unknown dataset"),
])
def test_bad_job_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    assert main(["generate", "--backend", "local", "--output", str(tmp_path / "o"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and err.startswith("rsd-ray: error:")


def test_unwritable_output(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["generate", "--backend", "local", "--output", str(blocker / "sub")]) == 2
    assert "cannot be written" in capsys.readouterr().err


def test_python_dash_m_entry_point(tmp_path):
    out = subprocess.run([sys.executable, "-m", "rsd_ray", "zoo", "path"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip().endswith("weights")


def test_delta_sweep_shares_the_models_and_moves_the_target_share(tmp_path):
    assert main(["eval", "--backend", "local", "--modes", "rsd", "--sweep", "rsd.delta=0.5,0.99", "--limit", "16",
                 "--output", str(tmp_path)]) == 0
    modes = json.loads((tmp_path / "summary.json").read_text())["modes"]
    low, high = modes["rsd[delta=0.5]"], modes["rsd[delta=0.99]"]
    assert low["target_step_share"] < high["target_step_share"]
    for label in modes:
        assert pq.read_table(tmp_path / label / "results.parquet").num_rows == 16


@pytest.mark.parametrize("sweep,message", [("target.tp=1,2", "--sweep wants rsd."), ("rsd.delta=", "--sweep wants")])
def test_bad_sweep_is_one_line(tmp_path, capsys, sweep, message):
    assert main(["eval", "--backend", "local", "--modes", "rsd", "--sweep", sweep, "--output", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_eval_grid_over_two_benchmark_sets_writes_one_table(tmp_path):
    out = tmp_path / "grid"
    assert main(["eval", "--backend", "local", "--dataset", "math500,gsm8k", "--modes", "draft", "--limit", "3",
                 "--output", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["modes"]) == {"math500/draft", "gsm8k/draft"}
    for name in ("math500", "gsm8k"):
        t = pq.read_table(out / name / "draft" / "results.parquet")
        assert t.num_rows == 3
    grid = pq.read_table(out / "table.parquet").to_pylist()
    assert [(g["dataset"], g["cell"]) for g in grid] == [("math500", "draft"), ("gsm8k", "draft")]
    assert "gsm8k/draft" in (out / "table.md").read_text()
    # a gsm8k row's id is its preset's id field, a math500 row's its unique_id
    assert pq.read_table(out / "math500" / "draft" / "results.parquet")["id"][0].as_py().startswith("test/")


def test_schedule_flag_sets_run_schedule_and_lockstep_answers_as_continuous(tmp_path):
    from rsd_ray.cli import parser
    from rsd_ray.jobs.job_config import job_config

    args = parser().parse_args(["generate", "--schedule", "lockstep", "--output", str(tmp_path / "x")])
    assert job_config(args).run.schedule == "lockstep"
    assert job_config(parser().parse_args(["generate", "--output", "o"])).run.schedule == "continuous"
    for schedule in ("continuous", "lockstep"):
        assert main(["generate", "--backend", "local", "--limit", "12", "--schedule", schedule,
                     "--set", "run.batch_size=4", "--output", str(tmp_path / schedule)]) == 0
    read = {s: pq.read_table(tmp_path / s / "results.parquet").to_pydict() for s in ("continuous", "lockstep")}
    assert read["lockstep"]["response"] == read["continuous"]["response"]
    for a, b in zip(read["lockstep"]["steps"], read["continuous"]["steps"]):
        # the same steps from the same source; rewards to float noise (the PRM's batches differ in padding)
        assert [(x["text"], x["source"]) for x in a] == [(x["text"], x["source"]) for x in b]
        assert all(abs((x["reward"] or 0) - (y["reward"] or 0)) < 1e-4 for x, y in zip(a, b))

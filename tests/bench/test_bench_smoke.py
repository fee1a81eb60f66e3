"""`rsd-ray bench` end to end on a few zoo problems, checked from bench.json alone (tiny sizes: the plumbing, not the speed)."""

import argparse
import json
import statistics

from rsd_ray.jobs import bench
from rsd_ray.jobs.bench_projection import PAPER_PARAMS, projection

# k = 1 calls the target for every round's few rejected requests: far from the ideal's full-batch target
# steps, so efficiency <= 1 holds with room on a loaded machine; a warm-up over all the rows, and 3
# repetitions, so one slow first call does not decide a median.
BOUNDED = ["--rows", "12", "--batch-size", "6", "--warmup-rows", "12", "--min-target-batch", "1", "--reps", "3"]
SMALL = ["--rows", "6", "--batch-size", "3", "--warmup-rows", "2", "--reps", "1"]


def run_bench(argv):
    ap = argparse.ArgumentParser()
    bench.add_arguments(ap)
    return bench.main(ap.parse_args(argv))


def test_bench_speedup_is_bounded_by_costs_measured_apart(tmp_path, capsys):
    assert run_bench(["--output", str(tmp_path), *BOUNDED]) == 0
    r = json.loads((tmp_path / "bench.json").read_text())
    assert {"wall_s", "engine_s", "steps", "rsd_steps", "speedup", "ideal_speedup", "efficiency", "ideal_rsd_s",
            "speedup_per_rep", "accuracy", "cpu", "projection"} <= r.keys()
    walls = r["wall_s"]
    assert all(len(walls[m]) == 3 for m in ("target", "draft", "prm", "rsd", "lockstep"))
    # the speedup from the per-repetition walls: medians, not one repetition
    assert abs(r["speedup"] - statistics.median(walls["target"]) / statistics.median(walls["rsd"])) < 1e-9
    assert r["speedup_per_rep"] == [t / s for t, s in zip(walls["target"], walls["rsd"])]
    # the PRM was timed alone on exactly draft-only's steps, one PRM call per draft call
    assert r["steps"]["prm"] == r["steps"]["draft"] == r["role_items"]["prm"]["prm"]
    assert r["role_calls"]["prm"]["prm"] == r["role_calls"]["draft"]["draft"]
    assert "rsd" not in r["role_calls"]["prm"] and set(r["role_calls"]["target"]) == {"target"}
    # the ideal from the runs apart, per the documented formula
    eng, steps, s = r["engine_s"], r["steps"], r["rsd_steps"]
    cost = {m: statistics.median(eng[m]) / steps[m] for m in ("target", "draft", "prm")}
    ideal = (s["draft_accepted"] + s["draft_rejected"]) * (cost["draft"] + cost["prm"]) + s["target"] * cost["target"]
    assert abs(r["ideal_rsd_s"] - ideal) < 1e-9
    assert abs(r["ideal_speedup"] - statistics.median(walls["target"]) / ideal) < 1e-9
    assert abs(r["efficiency"] - ideal / statistics.median(walls["rsd"])) < 1e-9
    assert 0 < r["efficiency"] <= 1 and r["speedup"] <= r["ideal_speedup"]
    assert r["accuracy"]["rsd"] >= r["accuracy"]["target"] - 0.02
    assert steps["rsd"] == s["draft_accepted"] + s["target"]
    # rsd's two schedules, side by side in the same rotation: continuous rows/s over lock-step's
    assert abs(r["vs_lockstep"] - statistics.median(walls["lockstep"]) / statistics.median(walls["rsd"])) < 1e-9
    assert r["vs_lockstep_per_rep"] == [lk / s for lk, s in zip(walls["lockstep"], walls["rsd"])]
    sc = r["schedules"]
    assert abs(sc["lockstep"]["rows_per_s"] - 12 / statistics.median(walls["lockstep"])) < 1e-9
    assert set(sc["lockstep"]["calls"]) == {"draft", "prm", "target"}
    # one process: the roles take turns, so their busy shares add up to at most the whole
    assert all(0 < sum(s["busy_share"].values()) <= 1 for s in sc.values())
    # the target's context reading, timed apart: rsd's prefill beyond target-only's per step
    c = r["target_catch_up"]
    per = c["target"]["prefill_s"] / r["steps"]["target"]
    assert abs(c["excess_s"] - (c["rsd"]["prefill_s"] - s["target"] * per)) < 1e-9
    assert abs(c["efficiency_beyond_catch_up"] - ideal / (statistics.median(walls["rsd"]) - c["excess_s"])) < 1e-9
    for mode in ("target", "rsd"):  # every token the target was fed is a prefill token or a decode row
        assert c[mode]["prefill_tokens"] + c[mode]["decode_tokens"] >= r["tokens"][mode]["tokens_target"] > 0
    assert "PROJECTION" in r["projection"]["label"] and len(r["projection"]["setups"]) == 3
    out = capsys.readouterr().out
    assert "speedup (target-only wall / rsd wall)" in out and "efficiency" in out and "vs lock-step" in out


def test_bench_refuses_when_rsd_loses_accuracy(tmp_path, capsys):
    # delta 0 accepts every draft step: rsd answers as the draft does (1 of these 6 right, target 6 of 6)
    assert run_bench(["--output", str(tmp_path), "--set", "rsd.delta=0", *SMALL]) == 2
    captured = capsys.readouterr()
    err = [line for line in captured.err.splitlines() if line.startswith("rsd-ray")]  # not the loaders' progress bars
    assert len(err) == 1 and "refused" in err[0] and "accuracy" in err[0]
    assert "speedup" not in captured.out and not (tmp_path / "bench.json").exists()


def test_projection_arithmetic():
    tokens = {"rsd": {"tokens_draft": 100, "tokens_prm": 100, "tokens_target": 10},
              "target": {"tokens_target": 100}}
    s = projection(0.9, tokens)["setups"][2]  # 7B / 72B / 7B: 72.7 / (7.62 + 7.62 + 0.1 x 72.7) = 3.231
    assert abs(s["flops_speedup_step_model"] - 72.7 / (7.62 + 7.62 + 7.27)) < 1e-9
    # 100 x 72.7 / (100 x 7.62 + 100 x 7.62 + 10 x 72.7) = 7270 / 2251
    assert abs(s["flops_speedup_token_model"] - 7270 / 2251) < 1e-9
    assert PAPER_PARAMS[s["target"]] == 72.7e9

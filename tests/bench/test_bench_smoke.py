"""`rsd-ray bench` end to end on a few zoo problems (tiny sizes: it proves the plumbing, not the speed)."""

import argparse
import json

from rsd_ray.jobs import bench


def test_bench_writes_ratios_and_projection(tmp_path, capsys):
    ap = argparse.ArgumentParser()
    bench.add_arguments(ap)
    args = ap.parse_args(["--output", str(tmp_path), "--rows", "6", "--batch-size", "3", "--reps", "1",
                          "--warmup-rows", "2", "--min-target-batch", "2"])
    assert bench.main(args) == 0
    r = json.loads((tmp_path / "bench.json").read_text())
    assert r["rows"] == 6 and r["batch_size"] == 3 and r["min_target_batch"] == 2
    assert r["speedup"] == r["median_wall_s"]["target"] / r["median_wall_s"]["rsd"]
    assert abs(r["efficiency"] - r["speedup"] / r["ideal_speedup"]) < 1e-12
    assert 0 < r["acceptance_rate"] <= 1 and r["cpu"]["speedup"] > 0
    assert r["steps"]["rsd"] == r["rsd_steps"]["draft_accepted"] + r["rsd_steps"]["target"]
    assert "PROJECTION" in r["projection"]["label"] and len(r["projection"]["setups"]) == 3
    assert all(s["flops_speedup_step_model"] > 1 for s in r["projection"]["setups"])
    out = capsys.readouterr().out
    assert "speedup (target-only wall / rsd wall)" in out and "efficiency" in out


def test_projection_arithmetic():
    tokens = {"rsd": {"tokens_draft": 100, "tokens_prm": 100, "tokens_target": 10},
              "target": {"tokens_target": 100}}
    p = bench.projection(0.9, tokens)
    s = p["setups"][2]  # 7B / 72B / 7B
    P = bench.PAPER_PARAMS
    assert abs(s["flops_speedup_step_model"] - P[s["target"]] / (P[s["draft"]] + P[s["prm"]] + 0.1 * P[s["target"]])) < 1e-9
    assert abs(s["flops_speedup_token_model"] - 100 * P[s["target"]] / (
        100 * P[s["draft"]] + 100 * P[s["prm"]] + 10 * P[s["target"]])) < 1e-9

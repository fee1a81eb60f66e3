"""The GPU check's --tiny run: the same script as on a GPU, one thin layer on the CPU, so it cannot rot."""

import json

import pytest

from rsd_ray.cli import main


@pytest.mark.slow
def test_check_gpu_tiny_passes_every_check(tmp_path, capsys):
    assert main(["check-gpu", "--tiny", "--output", str(tmp_path / "r.json")]) == 0
    r = json.loads((tmp_path / "r.json").read_text())
    c = r["checks"]
    assert r["ok"] and r["tiny"] and c["engine_vs_unpadded"]["nonfinite_logits"] == 0
    assert c["engine_vs_unpadded"]["same"] == c["engine_vs_unpadded"]["rows"]  # fp32 on the CPU: exact
    assert c["prm_cached_vs_whole"]["max_abs_diff"] < 1e-4
    assert 0 < c["long_context"]["kv_held_gib"] <= c["long_context"]["kv_plan_gib"]
    t = c["throughput"]
    assert t["target"]["steps"] > 0 and t["rsd"]["role_s"]["prm"] > 0 and t["target"]["role_s"]["draft"] == 0
    # lock-step wrote the same steps as continuous rsd (its answers are checked equal inside "ok")
    assert t["lockstep"]["steps"] == t["rsd"]["steps"] and t["vs_lockstep"] > 0
    assert c["overhead_tokens"]["suggested_overhead_tokens"] >= 1

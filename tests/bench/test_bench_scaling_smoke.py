"""The context-scaling benchmark end to end on tiny stand-ins (the plumbing and the JSON, not the speed)."""

import json

import pytest

from rsd_ray.jobs import bench_scaling


@pytest.mark.slow
def test_scaling_json_names_every_case_against_transformers(tmp_path):
    bench_scaling.main(["--output", str(tmp_path), "--roles", "draft,prm", "--batches", "2", "--contexts", "16,40",
                        "--mixed", "8:40", "--layers", "1", "--head-dim", "8", "--tokens", "6", "--reps", "1",
                        "--no-profile"])
    doc = json.loads((tmp_path / "scaling.json").read_text())
    cases = doc["cases"]
    assert set(cases) == {f"{r}|b2|{c}|L1h8" for r in ("draft", "prm") for c in ("16", "40", "8-40")}
    for key, c in cases.items():
        phases = ("prefill",) if c["role"] == "prm" else ("decode", "prefill")  # the PRM never decodes
        assert set(p for p in ("decode", "prefill") if p in c) == set(phases), key
        assert c["device"] == "cpu" and c["dtype"] == "float32"
        for p in phases:
            r = c[p]
            best = min(r["hf_static_ms_per_token"], r["hf_dynamic_ms_per_token"])
            assert abs(r["engine_over_hf"] - r["engine_ms_per_token"] / best) < 1e-9
            assert r["over_linear"] > 0 and r["linear_ms_per_token"] > 0
        assert c["lengths"] == ([8, 40] if c["context"] == "8-40" else [int(c["context"])] * 2)
    assert doc["engine_over_hf"]["prm b2 L1h8"].keys() == {"16", "40", "8-40"}

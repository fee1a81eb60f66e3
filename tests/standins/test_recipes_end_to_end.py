"""The paper's recipes, unchanged but for the model paths, on the real-shape stand-ins.

Random weights never stop by themselves, so the runs here also cap the
solution (a few short steps); everything else (dtype bf16, chat template,
device auto, PRM kind and file layout, delta) is the recipe's own. The limits
the recipes really carry are checked on their own below.
"""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from rsd_ray.cli import main
from rsd_ray.config import load_config

RECIPES = Path(__file__).resolve().parents[2] / "rsd_ray" / "recipes"
SMALL = RECIPES / "qwen-1.5b-7b-skywork-1.5b.yaml"
QWEN_PRM = RECIPES / "qwen-1.5b-7b-qwenprm-7b.yaml"
SHORT = ["generation.max_new_tokens=24", "generation.max_step_tokens=8", "generation.max_steps=3"]


def paths(s, prm="skywork-prm-1.5b"):
    return [f"draft.path={s['draft-1.5b']}", f"target.path={s['target-7b']}", f"prm.path={s[prm]}"]


def sets(items):
    return [a for item in items for a in ("--set", item)]


def check_rows(out: Path, n: int, sources: set[str]) -> list[dict]:
    rows = pq.read_table(out).to_pylist()
    assert len(rows) == n and len({r["id"] for r in rows}) == n
    for r in rows:
        assert r["error"] is None, r["error"]
        assert r["steps"] and {s["source"] for s in r["steps"]} <= sources
        assert r["response"] == "\n\n".join(s["text"] for s in r["steps"])
        assert all(0 <= s["reward"] <= 1 for s in r["steps"] if s["source"] == "draft")
        assert r["tokens_target"] > 0
        assert (r["tokens_draft"] > 0 and r["tokens_prm"] > 0) == ("draft" in sources)
    return rows


def test_the_recipes_carry_the_reference_limits():
    for recipe in RECIPES.glob("qwen-*.yaml"):
        g = load_config(recipe).generation
        assert (g.max_new_tokens, g.max_steps) == (4096, 100), recipe.name
        assert g.max_step_tokens >= g.max_new_tokens, recipe.name  # no per-step cap
        assert load_config(recipe).target.device == "auto"


@pytest.mark.slow
@pytest.mark.parametrize("recipe,prm", [(SMALL, "skywork-prm-1.5b"), (QWEN_PRM, "qwen-prm-7b")])
def test_generate_and_eval_on_math500_rows_locally(recipe, prm, standins, tmp_path):
    cfg = load_config(recipe, paths(standins, prm))
    assert cfg.target.dtype == "bfloat16" and cfg.prompt.chat
    args = ["--config", str(recipe), "--dataset", "math500", "--limit", "3", "--backend", "local"]
    assert main(["generate", *args, "--output", str(tmp_path / "gen"), *sets(paths(standins, prm) + SHORT)]) == 0
    check_rows(tmp_path / "gen" / "results.parquet", 3, {"draft", "target"})
    assert main(["eval", *args, "--modes", "rsd,target", "--output", str(tmp_path / "ev"),
                 *sets(paths(standins, prm) + SHORT)]) == 0
    summary = json.loads((tmp_path / "ev" / "summary.json").read_text())["modes"]
    assert summary["rsd"]["rows"] == summary["target"]["rows"] == 3 and summary["rsd"]["errors"] == 0
    check_rows(tmp_path / "ev" / "target" / "results.parquet", 3, {"target"})


@pytest.mark.slow
def test_generate_on_ray_with_the_target_sharded_over_two_ranks(standins, tmp_path):
    """device: auto on a CPU-only Ray runs every role on CPUs; the 7B stand-in (28 heads, 4 KV heads)
    is split by DeepSpeed AutoTP over two rank actors."""
    out = tmp_path / "ray"
    assert main(["generate", "--config", str(SMALL), "--dataset", "math500", "--limit", "3", "--backend", "ray",
                 "--output", str(out), *sets(paths(standins) + SHORT + ["target.tp=2", "run.threads=1"])]) == 0
    check_rows(out / "results.parquet", 3, {"draft", "target"})


@pytest.mark.slow
def test_each_rank_holds_half_the_attention_and_mlp(standins):
    """Per rank at TP 2: attention and MLP halved, the LM head halved, the embedding and norms whole."""
    import ray

    from rsd_ray.models.loading import held_bytes
    from rsd_ray.models.roles import build_generator
    from rsd_ray.runner.ray_backend import RayBackend

    whole = held_bytes(build_generator(load_config(SMALL, paths(standins)), "target").model)
    backend = RayBackend.start(load_config(SMALL, paths(standins) + ["target.tp=2", "run.threads=1"]), ["target"])
    try:
        ranks = ray.get([r.held_bytes.remote() for r in backend.replicas["target"][0].ranks], timeout=300)
    finally:
        backend.close()
    assert len(ranks) == 2
    for held in ranks:
        for part in ("attention", "mlp"):  # 14 of the 28 heads and 2 of the 4 KV heads each
            assert held[part] == pytest.approx(whole[part] / 2, rel=0.01), part
        assert held["embed"] == whole["embed"] and held["norm"] == whole["norm"]
    # the LM head is split in 64-column grains: the stand-in's 448 columns go 256 / 192 (the real 3584 evenly)
    assert sum(h["lm_head"] for h in ranks) == pytest.approx(whole["lm_head"], rel=0.01)
    assert max(h["lm_head"] for h in ranks) <= 0.58 * whole["lm_head"]
    # `rsd-ray plan`'s weights per rank bound what the largest rank really holds, and closely
    from rsd_ray.cluster.plan import GB, plan

    planned = plan(load_config(SMALL, paths(standins) + ["target.tp=2"]))["roles"]["target"]["weights_gib_per_rank"]
    most = max(sum(h.values()) for h in ranks)
    print(f"per-rank bytes at TP 2: {ranks} of {whole}; plan {planned * GB:.0f}")
    assert most <= planned * GB <= 1.01 * most

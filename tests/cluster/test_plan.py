"""`rsd-ray plan`: sizes without loading a model, refuses what does not fit."""

import json
from pathlib import Path

from rsd_ray.cli import main
from rsd_ray.cluster.bootstrap import RankEnv
from rsd_ray.cluster.plan import Arch, plan
from rsd_ray.config import load_config

RECIPES = Path(__file__).resolve().parents[2] / "rsd_ray" / "recipes"


def test_parameter_count_from_config_matches_the_real_models():
    # Qwen2.5-Math-72B-Instruct: 72.7B parameters; the zoo draft: exactly what torch counts
    cfg = load_config(RECIPES / "qwen-7b-72b-skywork-7b.yaml")
    assert abs(Arch.from_config(cfg.target.arch).params - 72.706e9) < 0.01e9
    from transformers import AutoModelForCausalLM

    from rsd_ray.models.roles import resolve_path

    model = AutoModelForCausalLM.from_pretrained(resolve_path("zoo:draft"))
    arch = json.loads((Path(resolve_path("zoo:draft")) / "config.json").read_text())
    assert Arch.from_config(arch).params == sum(p.numel() for p in model.parameters())


def test_72b_target_fits_at_tp4_and_tp8_not_tp1(capsys):
    recipe = str(RECIPES / "qwen-7b-72b-skywork-7b.yaml")
    for tp in (4, 8):
        p = plan(load_config(recipe, [f"target.tp={tp}"]))
        assert p["fits"] and p["roles"]["target"]["weights_gib_per_rank"] < 80 / tp * 4.1
    assert main(["plan", "--config", recipe]) == 0
    assert main(["plan", "--config", recipe, "--set", "target.tp=1"]) == 2
    assert "plan does not fit: target" in capsys.readouterr().err


def test_zoo_plan_and_placement_fields():
    p = plan(load_config(overrides=["target.tp=2", "target.resource=target_group"]))
    t = p["roles"]["target"]
    assert t["tp"] == 2 and t["bundle_per_rank"] == {"CPU": 1.0, "target_group": 1.0}
    assert "STRICT_PACK: 2 rank(s) on one node" in t["placement"]


def test_rank_env_sets_everything_deepspeed_needs(monkeypatch):
    import os

    for k in ("MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_SIZE", "DS_ACCELERATOR"):
        monkeypatch.delenv(k, raising=False)
    RankEnv("127.0.0.1", 29555, 1, 2).apply()
    assert (os.environ["RANK"], os.environ["WORLD_SIZE"], os.environ["LOCAL_SIZE"], os.environ["DS_ACCELERATOR"]) \
        == ("1", "2", "2", "cpu")


def test_a_tp_size_that_does_not_divide_the_heads_is_refused_in_one_line(capsys):
    # Qwen2.5-Math-7B: 28 heads, 4 KV heads; at TP 8 DeepSpeed would give four ranks no KV head
    assert main(["plan", "--config", str(RECIPES / "qwen-1.5b-7b-skywork-1.5b.yaml"), "--set", "target.tp=8"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Qwen2.5-Math-7B-Instruct" in err[0]
    assert "tp 8" in err[0] and "28 attention heads" in err[0] and "4 KV heads" in err[0]
    # the 72B (64 heads, 8 KV heads): 3 divides neither, 16 not the KV heads
    for tp in (3, 16):
        assert main(["plan", "--config", str(RECIPES / "qwen-7b-72b-skywork-7b.yaml"), "--set", f"target.tp={tp}"]) == 2
        assert "64 attention heads and 8 KV heads" in capsys.readouterr().err


def test_a_rank_holds_its_shard_plus_the_replicated_embedding():
    # the 7B at TP 2: attention, MLP and LM head halved, the 545M-parameter input embedding whole
    a = Arch.from_config(load_config(RECIPES / "qwen-7b-72b-skywork-7b.yaml").draft.arch)
    share = a.weight_params_per_rank(2) / a.params
    assert 0.52 < share < 0.54
    assert a.weight_params_per_rank(2) > 152064 * 3584 + (a.params - 152064 * 3584) / 2  # embedding whole

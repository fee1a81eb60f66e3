"""The zoo recipe runs end to end (shrunken), and its output loads like a real checkpoint."""

import json

from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

from rsd_ray.config import load_config
from rsd_ray.core.records import ScoreCall, StepCall
from rsd_ray.models.roles import build_generator, build_prm
from rsd_ray.zoo.build import ZooRecipe, build_zoo


def test_shrunken_zoo_builds_and_loads(tmp_path):
    built = build_zoo(tmp_path, ZooRecipe.shrunken(), log=lambda m: None)
    assert set(built) == {"draft", "target", "prm"}
    for name in ("draft", "target", "prm"):
        files = {p.name for p in (tmp_path / name).iterdir()}
        assert {"config.json", "model.safetensors", "tokenizer.json"} <= files
        assert json.loads((tmp_path / name / "build.json").read_text())["params"] > 0
    AutoModelForCausalLM.from_pretrained(tmp_path / "draft")
    AutoTokenizer.from_pretrained(tmp_path / "target")
    assert json.loads((tmp_path / "prm" / "config.json").read_text())["architectures"] == ["Qwen2ForPrmModel"]
    AutoModel.from_pretrained(tmp_path / "prm")
    cfg = load_config(overrides=[f"{r}.path={tmp_path / r}" for r in ("draft", "target", "prm")])
    out = build_generator(cfg, "target").generate_steps([StepCall("a", "1+2=?", (), 5, 0, 0)])[0]
    assert out.new_tokens >= 1
    score = build_prm(cfg).score([ScoreCall("a", "1+2=?", ("1+2=3",))])[0]
    assert 0.0 <= score.last <= 1.0


def test_build_is_deterministic(tmp_path):
    a = build_zoo(tmp_path / "a", ZooRecipe.shrunken(), parts=("draft",), log=lambda m: None)
    b = build_zoo(tmp_path / "b", ZooRecipe.shrunken(), parts=("draft",), log=lambda m: None)
    assert a["draft"]["params"] == b["draft"]["params"]
    assert (tmp_path / "a/draft/model.safetensors").read_bytes() == (tmp_path / "b/draft/model.safetensors").read_bytes()

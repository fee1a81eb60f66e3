"""Each stand-in loads through the project's own loaders, with the real head counts and layout."""

import json

import pytest
from safetensors import safe_open

from rsd_ray.config import load_config
from rsd_ray.models.roles import build_generator, build_prm
from rsd_ray.standins import STANDINS


@pytest.mark.parametrize("name", ["draft-1.5b", "target-7b", "target-72b"])
def test_causal_lm_loads_as_a_generator(standins, name):
    real = STANDINS[name].arch
    g = build_generator(load_config(overrides=[f"target.path={standins[name]}"]), "target")
    c = g.model.config
    assert (c.num_attention_heads, c.num_key_value_heads) == (real.num_attention_heads, real.num_key_value_heads)
    assert (c.vocab_size, c.tie_word_embeddings, c.max_position_embeddings) == (
        real.vocab_size, real.tie_word_embeddings, real.max_position_embeddings)
    assert c.hidden_size == real.num_attention_heads * 16
    assert g.eos_ids == {151645, 151643}  # <|im_end|> and <|endoftext|> both end a solution
    published = json.loads((standins[name] / "config.json").read_text())
    assert published["rope_theta"] == 10000.0 and published["sliding_window"] == real.sliding_window
    assert published["architectures"] == ["Qwen2ForCausalLM"]


@pytest.mark.parametrize("name", ["skywork-prm-1.5b", "skywork-prm-7b"])
def test_skywork_prm_loads_as_a_value_head(standins, name):
    d, real = standins[name], STANDINS[name].arch
    assert sorted(p.name for p in d.glob("*.bin")) == ["pytorch_model.bin"] and not list(d.glob("*.safetensors"))
    assert json.loads((d / "config.json").read_text())["architectures"] == ["Qwen2ForPrmModel"]
    prm = build_prm(load_config(overrides=[f"prm.path={d}", "prm.use_safetensors=false"]))
    c = prm.model.config
    assert (c.num_attention_heads, c.num_key_value_heads, c.vocab_size) == (
        real.num_attention_heads, real.num_key_value_heads, real.vocab_size)
    assert prm.head.weight.shape == (1, c.hidden_size)
    # pickles are refused unless allowed (transformers refuses first, before the project's own message)
    with pytest.raises((OSError, ValueError), match="safetensors"):
        build_prm(load_config(overrides=[f"prm.path={d}"]))


def test_qwen_prm_has_the_published_layout(standins):
    d, real = standins["qwen-prm-7b"], STANDINS["qwen-prm-7b"].arch
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["architectures"] == ["Qwen2ForProcessRewardModel"] and "AutoModel" in cfg["auto_map"]
    assert (cfg["num_attention_heads"], cfg["num_key_value_heads"]) == (real.num_attention_heads,
                                                                       real.num_key_value_heads)
    assert not list(d.glob("*.py"))  # no remote code is shipped
    h = cfg["hidden_size"]
    with safe_open(str(d / "model.safetensors"), "pt") as f:
        shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    assert shapes["score.0.weight"] == (h, h) and shapes["score.0.bias"] == (h,)
    assert shapes["score.2.weight"] == (2, h) and shapes["score.2.bias"] == (2,)
    assert shapes["model.embed_tokens.weight"] == (real.vocab_size, h)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(d))
    assert tok.encode("<extra_0>") == [151651]
    with pytest.raises(ValueError, match="v_head"):  # not a value-head checkpoint
        build_prm(load_config(overrides=[f"prm.path={d}"]))

"""PRM adapters: cached, incremental scoring equals scoring the whole sequence at once."""

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

from rsd_ray.config import load_config
from rsd_ray.core.records import ScoreCall
from rsd_ray.models.loading import LoadOptions
from rsd_ray.models.prm import MathShepherdPRM
from rsd_ray.models.roles import build_prm, resolve_path
from rsd_ray.zoo.prm_model import ValueHeadPRM as TrainPRM
from rsd_ray.zoo.quality import prm_step_scores
from rsd_ray.zoo.task import make_problems
from rsd_ray.zoo.tokenizer import build_tokenizer


def test_zoo_prm_loads_in_the_skywork_layout():
    from safetensors import safe_open

    path = resolve_path("zoo:prm")
    with safe_open(f"{path}/model.safetensors", "pt") as f:
        keys = set(f.keys())
    assert {"v_head.summary.weight", "v_head.summary.bias"} <= keys
    assert all(k.startswith(("model.", "v_head.")) for k in keys)
    prm = build_prm(load_config())
    assert prm.head.weight.shape == (1, prm.model.config.hidden_size)


def test_value_head_incremental_rewards_equal_a_whole_sequence_forward():
    prm = build_prm(load_config())
    problems = make_problems(6, seed=31)
    steps = {p.id: p.solution.split("\n\n") for p in problems}
    # score step by step, as RSD does, with a wrong step replaced on the way
    for k in range(4):
        calls = [ScoreCall(p.id, p.problem, tuple(steps[p.id][: k + 1])) for p in problems]
        results = prm.score(calls)
    # reference: the training-time module on whole sequences
    ref = TrainPRM(prm.model, prm.model.config.hidden_size)
    ref.v_head.summary = prm.head
    items = [(p.problem, steps[p.id][: k + 1], 1) for p in problems for k in range(4)]
    expect = prm_step_scores(ref, prm.tok, items, prm.step_token_id)
    got = [r for res in results for r in res.rewards]
    assert torch.allclose(torch.tensor(got), torch.tensor(expect), atol=1e-4)
    assert all(res.tokens < 15 for res in results)  # the last call fed only the new step


def test_rejected_step_is_forgotten():
    prm = build_prm(load_config())
    p = make_problems(1, seed=3)[0]
    s = p.solution.split("\n\n")
    a = prm.score([ScoreCall("q", p.problem, (s[0], "1+1=7"))])[0]
    b = prm.score([ScoreCall("q", p.problem, (s[0], s[1]))])[0]
    fresh = build_prm(load_config()).score([ScoreCall("q", p.problem, (s[0], s[1]))])[0]
    assert a.rewards[0] == b.rewards[0]
    assert abs(b.last - fresh.last) < 1e-5


def test_math_shepherd_layout(tmp_path):
    tok = build_tokenizer(extra_chars="кисте")
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                                         max_position_embeddings=256, pad_token_id=tok.pad_token_id))
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    cfg = load_config(overrides=[f"prm.path={tmp_path}", "prm.kind=math_shepherd"])
    prm = build_prm(cfg)
    assert isinstance(prm, MathShepherdPRM)
    steps = ("1+2=3", "3+4=7", "\\boxed{7}")
    incremental = [prm.score([ScoreCall("m", "1+2+4=?", steps[: k + 1])])[0].last for k in range(3)]
    # whole text at once: "question step1 ки\nstep2 ки\n..." and P(+) at each tag
    text = "1+2+4=? " + "\n".join(f"{s} ки" for s in steps)
    ids = tok(text, return_tensors="pt")["input_ids"]
    m = AutoModelForCausalLM.from_pretrained(tmp_path)
    logits = m(ids).logits[0]
    tag = tok.encode("и")[-1]  # "и" is two byte-level tokens; the reward is read at the last
    pos = (ids[0] == tag).nonzero().squeeze(-1)
    good_bad = [tok.encode("+")[0], tok.encode("-")[0]]
    expect = torch.softmax(logits[pos][:, good_bad], -1)[:, 0]
    assert torch.allclose(torch.tensor(incremental), expect, atol=1e-5)


def test_pickled_weights_need_an_explicit_opt_in(tmp_path):
    import pytest

    from rsd_ray.models.prm import load_value_head

    torch.save({"v_head.summary.weight": torch.ones(1, 4), "v_head.summary.bias": torch.zeros(1)},
               tmp_path / "pytorch_model.bin")
    with pytest.raises(ValueError, match="use_safetensors: false"):
        load_value_head(tmp_path, 4, torch.float32, use_safetensors=True)
    head = load_value_head(tmp_path, 4, torch.float32, use_safetensors=False)
    assert head.weight.sum() == 4
    save_file({"v_head.summary.weight": torch.ones(1, 4)}, tmp_path / "model.safetensors")
    assert load_value_head(tmp_path, 4, torch.float32, use_safetensors=True).bias is None
    assert LoadOptions().use_safetensors

"""The engines' attention path on a real-shape stand-in (28/4 heads, the real tokenizer, random weights).

Greedy steps of a mixed-length batch equal transformers' own generate of each request alone;
PRM rewards equal a plain forward's; decode takes SDPA's packed grouped-query path and a masked
prefill `enable_gqa` (no copy of every key per head); the arena grows without copying what it holds.
"""

from dataclasses import asdict

import pytest
import torch
from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM, Qwen2Model

from rsd_ray.core.records import ScoreCall, StepCall
from rsd_ray.models import attention
from rsd_ray.models.generator import StepGenerator
from rsd_ray.models.arena import KVArena
from rsd_ray.models.decode_cache import GrowingCache, GrowingLayer
from rsd_ray.models.prm import ValueHeadPRM
from rsd_ray.standins.build import TOKENIZER_DIR
from rsd_ray.standins.shapes import STANDINS

# one batch: holes and pads in every forward, and contexts far enough apart to attend in row groups
LENGTHS = (3, 37, 121, 700, 1200)


def config() -> Qwen2Config:
    arch = STANDINS["target-7b"].arch.shrunk(2, 8, False)
    # a wide init: random logits far apart, so that rounding (1e-6) never decides an argmax
    return Qwen2Config(**asdict(arch), initializer_range=0.3, attn_implementation="sdpa")


@pytest.fixture(scope="module")
def tok():
    return AutoTokenizer.from_pretrained(str(TOKENIZER_DIR))


@pytest.fixture(scope="module")
def prompts():
    g = torch.Generator().manual_seed(3)
    return {f"p{n}": torch.randint(0, 150000, (n,), generator=g).tolist() for n in LENGTHS}


def twin(cls):
    """Two models with the same weights: one for the engine, one left on transformers' own sdpa."""
    torch.manual_seed(0)
    a = cls(config()).eval()
    b = cls(config()).eval()
    b.load_state_dict(a.state_dict())
    return a, b


def spy_on_sdpa(monkeypatch) -> list:
    """Record (query shape, key shape, masked, enable_gqa) of every SDPA call the engines make."""
    calls = []
    real = torch.nn.functional.scaled_dot_product_attention

    def spy(q, k, v, attn_mask=None, **kw):
        calls.append((tuple(q.shape), tuple(k.shape), attn_mask is not None, kw.get("enable_gqa", False)))
        return real(q, k, v, attn_mask=attn_mask, **kw)

    monkeypatch.setattr(attention.F, "scaled_dot_product_attention", spy)
    return calls


@torch.no_grad()
def test_greedy_steps_of_a_mixed_batch_equal_transformers_alone(tok, prompts, monkeypatch):
    model, plain = twin(Qwen2ForCausalLM)
    sdpa = spy_on_sdpa(monkeypatch)
    e = StepGenerator(model, tok, "target", max_prompt_tokens=1 << 10)
    assert model.config._attn_implementation == attention.NAME
    assert plain.config._attn_implementation == "sdpa"
    e.prompt_ids, e.prompt_error = prompts.__getitem__, lambda _p: None
    e.eos_ids, e._may_end = set(), [False] * len(e._may_end)  # every step runs to its budget
    steps = {n: () for n in prompts}
    for k in range(3):
        out = e.generate_steps([StepCall(n, n, steps[n], 8, 0, k) for n in prompts])
        steps = {r.request_id: steps[r.request_id] + (r.text,) for r in out}
    # decode attended in row groups: the short rows over fewer columns than the longest
    decode = [c for c in sdpa if c[0][2] == model.config.num_attention_heads // model.config.num_key_value_heads]
    assert decode and min(c[1][2] for c in decode) < 200 < 1200 < max(c[1][2] for c in decode)
    delim = e.encode("\n\n")
    plain.generation_config.eos_token_id = None  # as the engine here: no end token stops a step
    for n, ids in prompts.items():
        ref = list(ids)
        for _ in range(3):  # each request alone: no padding, transformers' own sdpa and DynamicCache
            out = plain.generate(input_ids=torch.tensor([ref]), max_new_tokens=8, do_sample=False, pad_token_id=0)
            ref = out[0].tolist() + delim
        assert e.states[n].tokens == ref, n


@torch.no_grad()
def test_prm_rewards_of_a_mixed_batch_equal_a_plain_forward(tok, prompts):
    backbone, plain = twin(Qwen2Model)
    torch.manual_seed(1)
    head = torch.nn.Linear(backbone.config.hidden_size, 1)
    prm = ValueHeadPRM(backbone, head, tok)
    prm.render_prompt = prompts.__getitem__
    steps = {n: (f"{len(ids)} + 1 = {len(ids) + 1}", "so x = 2 * 3") for n, ids in prompts.items()}
    prm.score([ScoreCall(n, n, ()) for n in prompts])  # the prompts first, cached: the steps come on top
    got = {r.request_id: r.rewards for r in prm.score([ScoreCall(n, n, steps[n]) for n in prompts])}
    for n, ids in prompts.items():
        s = prm.states[n]
        h = plain(input_ids=torch.tensor([s.tokens])).last_hidden_state
        want = torch.sigmoid(head(h)[0, :, 0])[[e - 1 for e in s.step_ends]]
        assert torch.allclose(torch.tensor(got[n]), want, atol=1e-5), n


def test_decode_packs_query_heads_and_masked_prefill_uses_enable_gqa(monkeypatch):
    calls = spy_on_sdpa(monkeypatch)
    module = Qwen2ForCausalLM(config()).model.layers[0].self_attn
    B, H, KV, D, L = 3, 28, 4, 8, 50
    key, value = torch.randn(B, KV, L, D), torch.randn(B, KV, L, D)
    mask = torch.ones(B, 1, 5, L, dtype=torch.bool).tril(L - 5)
    for q, m in ((1, None), (1, mask[:, :, -1:]), (5, mask)):
        out, _ = attention.engine_attention(module, torch.randn(B, H, q, D), key, value, m, scaling=D ** -0.5)
        assert out.shape == (B, q, H, D)
    # decode: [B, KV, groups, D] against the unrepeated keys, with or without a mask; prefill: no repeat_kv
    assert calls == [((B, KV, H // KV, D), (B, KV, L, D), False, False),
                     ((B, KV, H // KV, D), (B, KV, L, D), True, False),
                     ((B, H, 5, D), (B, KV, L, D), True, True)]


def test_arena_grows_without_copying_what_it_holds():
    arena = KVArena(num_layers=1, limit=4096)
    s = arena.alloc()
    first = None
    for n in (100, 1500, 3000):  # the last needs more blocks than the pool's first chunk has
        vals = torch.arange(n, dtype=torch.float32).view(1, 1, n, 1).expand(1, 2, n, 3)
        arena.store(GrowingCache([GrowingLayer(0, vals.clone(), -vals.clone(), length=n)]), [0], [0], [n], [s], [0])
        first = first or arena.pool.k[0][0].data_ptr()
        assert arena.pool.k[0][0].data_ptr() == first  # the first chunk is never reallocated
        got = arena.gather([s], n, 0).layers[0]
        assert torch.equal(got.keys[0, 1, :, 2], torch.arange(n, dtype=torch.float32))
        assert torch.equal(got.values[0, 0, :, 0], -torch.arange(n, dtype=torch.float32))
    assert len(arena.pool.starts) > 1

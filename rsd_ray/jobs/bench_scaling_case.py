"""One bench_scaling case: a role's engine primed on a batch of contexts, transformers' caches built from its KV.

Both sides then time the same work on the same cached contexts (a decode
step, a prefill of one step's tokens), so their ratio is the engine's cost
over transformers' own best path and nothing else.
"""

from __future__ import annotations

import time
from dataclasses import asdict

import torch
from transformers import DynamicCache, Qwen2Config, Qwen2ForCausalLM, Qwen2Model, StaticCache

from rsd_ray.core.records import ScoreCall, StepCall
from rsd_ray.models.generator import StepGenerator
from rsd_ray.models.prm import ValueHeadPRM
from rsd_ray.standins.shapes import STANDINS

SHAPES = {"draft": "draft-1.5b", "target": "target-7b", "prm": "skywork-prm-7b"}


def clock() -> tuple[float, float]:
    """(thread CPU seconds, wall seconds); on a GPU the device's queued work is finished first."""
    if torch.cuda.is_initialized():
        torch.cuda.synchronize()
    return time.thread_time(), time.perf_counter()


def since(t: tuple[float, float]) -> tuple[float, float]:
    c, w = clock()
    return c - t[0], w - t[1]


def build_model(role: str, layers: int, head_dim: int, seed: int = 0, device: str = "cpu",
                dtype: torch.dtype = torch.float32):
    arch = STANDINS[SHAPES[role]].arch.shrunk(layers, head_dim, False)
    torch.manual_seed(seed)
    cfg = Qwen2Config(**asdict(arch))
    cfg._attn_implementation = "sdpa"
    model = (Qwen2Model if role == "prm" else Qwen2ForCausalLM)(cfg).eval().to(device=device, dtype=dtype)
    model.config._attn_implementation = "sdpa"
    return model, arch


def lengths_for(context: str, batch: int) -> list[int]:
    if ":" in context:  # mixed: spread evenly, interleaved so that no group is contiguous by chance
        lo, hi = map(int, context.split(":"))
        ls = [round(lo + (hi - lo) * i / max(batch - 1, 1)) for i in range(batch)]
        return ls[::2] + ls[1::2]
    return [int(context)] * batch


class Case:
    """One role, batch and set of lengths: the engine primed, and transformers' caches built from the same KV."""

    def __init__(self, role: str, model, tok, lengths: list[int], tokens: int, seed: int = 1):
        self.role, self.model, self.lengths, self.tokens = role, model, lengths, tokens
        g = torch.Generator().manual_seed(seed)
        self.prompts = [torch.randint(0, 150000, (n,), generator=g).tolist() for n in lengths]
        self.names = [f"r{i}" for i in range(len(lengths))]
        by_name = dict(zip(self.names, self.prompts))
        self.device = next(model.parameters()).device
        if role == "prm":
            head = torch.nn.Linear(model.config.hidden_size, 1).to(self.device, next(model.parameters()).dtype)
            self.engine = ValueHeadPRM(model, head, tok)
            self.engine.render_prompt = by_name.__getitem__
        else:
            self.engine = StepGenerator(model, tok, role, max_prompt_tokens=1 << 20)
            self.engine.prompt_ids = by_name.__getitem__
            self.engine.prompt_error = lambda _p: None
            self.engine.eos_ids = set()  # random weights: every step runs to its budget
            self.engine._may_end = [False] * len(self.engine._may_end)
        self.engine_impl = model.config._attn_implementation
        self.flip = 0
        self.hf_impl("engine")
        self.prime()

    def hf_impl(self, who: str) -> None:
        impl = self.engine_impl if who == "engine" else "sdpa"
        if self.model.config._attn_implementation != impl:
            self.model.set_attn_implementation(impl)

    def prime(self) -> None:
        """Prefill every prompt in the engine (untimed); transformers' caches are laid out from its arena."""
        e = self.engine
        for lo in range(0, len(self.names), 8):  # in slices: a whole batch of 4k prompts is one huge forward
            names = self.names[lo: lo + 8]
            if self.role == "prm":
                e.score([ScoreCall(n, n, ()) for n in names])
            else:
                e.generate_steps([StepCall(n, n, (), 1, 0, 0) for n in names])
        # left-padded [B, Lmax] as transformers' generate lays a batch out, cached up to the last token
        Lmax, B = max(self.lengths), len(self.lengths)
        ids = torch.zeros((B, Lmax), dtype=torch.long)
        mask = torch.zeros((B, Lmax), dtype=torch.long)
        for i, p in enumerate(self.prompts):
            ids[i, Lmax - len(p):] = torch.tensor(p)
            mask[i, Lmax - len(p):] = 1
        self.ids, self.mask = ids.to(self.device), mask.to(self.device)
        self.kv = []
        rows = [e.arena.gather([e.states[n].slot], Lmax - 1, 0).layers for n in self.names]
        for layer in range(len(rows[0])):
            first = rows[0][layer].keys
            ks = first.new_zeros((B, first.shape[1], Lmax - 1, first.shape[3]))
            vs = torch.zeros_like(ks)
            for i, n in enumerate(self.lengths):
                ks[i, :, Lmax - n:] = rows[i][layer].keys[0, :, : n - 1]
                vs[i, :, Lmax - n:] = rows[i][layer].values[0, :, : n - 1]
            self.kv.append((ks, vs))

    def hf_cache(self, kind: str, upto: int):
        """A fresh cache holding the first `upto` columns of the prefilled context (transformers mutates its caches)."""
        if kind == "static":
            cache = StaticCache(config=self.model.config, max_cache_len=max(self.lengths) + 2 * self.tokens + 8)
        else:
            cache = DynamicCache()
        for i, (k, v) in enumerate(self.kv):
            cache.update(k[:, :, :upto], v[:, :, :upto], i)
        return cache

    # --- the timed calls; each returns (thread CPU seconds, wall seconds) ---

    def engine_decode(self) -> float:
        calls = [StepCall(n, n, (), self.tokens, 0, 0) for n in self.names]
        t = clock()
        out = self.engine.generate_steps(calls)
        t = since(t)
        assert all(r.new_tokens == self.tokens for r in out), [r.new_tokens for r in out]
        return t

    def engine_prefill(self) -> float:
        self.flip ^= 1
        # a step of `tokens` new tokens: Qwen's tokenizer splits digits, one token each, plus the step's end
        step = ("1" if self.flip else "2") * (self.tokens - 1)
        t = clock()
        if self.role == "prm":
            out = self.engine.score([ScoreCall(n, n, (step,)) for n in self.names])
            fed = [r.tokens for r in out]
        else:
            out = self.engine.generate_steps([StepCall(n, n, (step,), 1, 0, 1) for n in self.names])
            fed = [r.prefill_tokens for r in out]
        t = since(t)
        assert all(f == self.tokens for f in fed), fed
        return t

    @torch.no_grad()
    def hf_decode(self, kind: str) -> float:
        Lmax = max(self.lengths)
        cache = self.hf_cache(kind, Lmax - 1)
        t = clock()
        out = self.model.generate(input_ids=self.ids, attention_mask=self.mask, past_key_values=cache,
                                  max_new_tokens=self.tokens, min_new_tokens=self.tokens, do_sample=False,
                                  pad_token_id=0, eos_token_id=None)
        t = since(t)
        assert out.shape[1] == Lmax + self.tokens
        return t

    @torch.no_grad()
    def hf_prefill(self, kind: str) -> float:
        Lmax, B = max(self.lengths), len(self.lengths)
        cache = self.hf_cache(kind, Lmax - 1)
        ids = torch.cat([self.ids[:, -1:], self.ids.new_full((B, self.tokens - 1), 16)], 1)  # 16: "1"
        mask = torch.cat([self.mask, self.mask.new_ones((B, self.tokens - 1))], 1)
        pos = (mask.cumsum(1) - 1).clamp(min=0)[:, -self.tokens:]
        kwargs = {} if self.role == "prm" else {"logits_to_keep": 1}
        t = clock()
        self.model(input_ids=ids, attention_mask=mask, position_ids=pos, past_key_values=cache, use_cache=True,
                   **kwargs)
        return since(t)

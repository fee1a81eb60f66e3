"""How a step's cost grows with context: the step engine against transformers' own best path.

    python -m rsd_ray.jobs.bench_scaling --output DIR [--roles target,prm] [--batches 16]
        [--contexts 128,512,2048,4000] [--mixed 200:4000] [--layers 4] [--head-dim 16] [--reps 3]

Per role (draft / target: the StepGenerator; prm: the PRM scorer), batch and
context (every row of one length, or lengths spread evenly over --mixed), on
real-shape stand-ins (rsd_ray/standins: the real head counts and vocabulary,
random weights, reduced depth and head width), one torch thread:

- decode: one step of `--tokens` tokens (the engine: a generate_steps call
  over cached contexts, i.e. one token fed again and the rest decoded;
  transformers: `generate` from a prefilled StaticCache and DynamicCache,
  the same number of forwards), per generated token per request;
- prefill: `--tokens` new tokens per request on top of the cached context
  (the target catching up with a draft step, the PRM scoring a step; the
  engine's own call against a transformers forward over each cache), per
  new token per request.

Engine and transformers runs alternate, medians of `--reps`, timed on the
thread's CPU time (one torch thread: all the work; a shared machine's waits
are not counted; `_wall` figures beside them); `engine_over_hf` is the
engine's median over the faster of transformers' two caches (below 1: the
engine is faster). `linear` is the per-token cost the least-squares line
through the engine's equal-length costs predicts at each length (superlinear
growth shows as `over_linear` > 1 at the longest). `profile`: torch.profiler's top operators of one
engine decode step and one prefill at the longest context. The JSON in
DIR/scaling.json is merged with what earlier invocations wrote there (cases
keyed by role, batch, context and model size).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
from transformers import AutoTokenizer, DynamicCache, Qwen2Config, Qwen2ForCausalLM, Qwen2Model, StaticCache

from rsd_ray.core.records import ScoreCall, StepCall
from rsd_ray.models.generator import StepGenerator
from rsd_ray.models.prm import ValueHeadPRM
from rsd_ray.standins.build import TOKENIZER_DIR
from rsd_ray.standins.shapes import STANDINS

SHAPES = {"draft": "draft-1.5b", "target": "target-7b", "prm": "skywork-prm-7b"}
STEP_A, STEP_B = "1" * 31, "2" * 31  # Qwen's tokenizer splits digits: 31 tokens, 32 with the step's end


def clock() -> tuple[float, float]:
    return time.thread_time(), time.perf_counter()


def since(t: tuple[float, float]) -> tuple[float, float]:
    c, w = clock()
    return c - t[0], w - t[1]


def build_model(role: str, layers: int, head_dim: int, seed: int = 0):
    arch = STANDINS[SHAPES[role]].arch.shrunk(layers, head_dim, False)
    torch.manual_seed(seed)
    cfg = Qwen2Config(**asdict(arch))
    cfg._attn_implementation = "sdpa"
    model = (Qwen2Model if role == "prm" else Qwen2ForCausalLM)(cfg).eval()
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
        if role == "prm":
            head = torch.nn.Linear(model.config.hidden_size, 1)
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
        self.ids = torch.zeros((B, Lmax), dtype=torch.long)
        self.mask = torch.zeros((B, Lmax), dtype=torch.long)
        for i, p in enumerate(self.prompts):
            self.ids[i, Lmax - len(p):] = torch.tensor(p)
            self.mask[i, Lmax - len(p):] = 1
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
        step = STEP_A if self.flip else STEP_B
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


def time_case(case: Case, reps: int) -> dict:
    phases = ["prefill"] if case.role == "prm" else ["decode", "prefill"]
    B, n = len(case.lengths), case.tokens
    out = {}
    for phase in phases:
        runs = {"engine": [], "hf_static": [], "hf_dynamic": []}
        eng = case.engine_decode if phase == "decode" else case.engine_prefill
        hf = case.hf_decode if phase == "decode" else case.hf_prefill
        for r in range(reps + 1):  # the first round warms up (allocator, caches), untimed
            case.hf_impl("engine")
            te = eng()
            case.hf_impl("hf")
            ts, td = hf("static"), hf("dynamic")
            if r:
                runs["engine"].append(te), runs["hf_static"].append(ts), runs["hf_dynamic"].append(td)
        case.hf_impl("engine")
        res = {}
        for clock_name, j in (("", 0), ("_wall", 1)):
            ms = {k: statistics.median(t[j] for t in v) * 1e3 / (B * n) for k, v in runs.items()}
            best = min(ms["hf_static"], ms["hf_dynamic"])
            res |= {f"engine_ms_per_token{clock_name}": ms["engine"],
                    f"hf_static_ms_per_token{clock_name}": ms["hf_static"],
                    f"hf_dynamic_ms_per_token{clock_name}": ms["hf_dynamic"],
                    f"engine_over_hf{clock_name}": ms["engine"] / best,
                    f"engine_over_hf_per_rep{clock_name}": [e[j] / min(s[j], d[j]) for e, s, d in zip(
                        runs["engine"], runs["hf_static"], runs["hf_dynamic"])]}
        res["engine_step_ms"] = statistics.median(t[1] for t in runs["engine"]) * 1e3
        out[phase] = res
    return out


def profile_case(case: Case, top: int = 12) -> dict:
    from torch.profiler import ProfilerActivity, profile

    out = {}
    phases = [("prefill", case.engine_prefill)] + ([] if case.role == "prm" else [("decode", case.engine_decode)])
    for phase, fn in phases:
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            fn()
        ev = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
        total = sum(e.self_cpu_time_total for e in ev) or 1
        out[phase] = [{"op": e.key, "self_ms": e.self_cpu_time_total / 1e3, "share": e.self_cpu_time_total / total,
                       "calls": e.count} for e in ev[:top]]
    return out


def summarise(cases: dict) -> dict:
    """engine_over_hf per role, batch, context and phase; per case, the least-squares line through
    the engine's equal-length costs of its role, batch and model (per-token cost linear in context)."""
    summary: dict = {}
    for c in cases.values():
        key = f"{c['role']} b{c['batch']} L{c['layers']}h{c['head_dim']}"
        summary.setdefault(key, {})[c["context"]] = {p: round(c[p]["engine_over_hf"], 3)
                                                     for p in ("decode", "prefill") if p in c}
    for c in cases.values():
        same = [o for o in cases.values() if o["context"].isdigit() and (o["role"], o["batch"], o["layers"],
                o["head_dim"]) == (c["role"], c["batch"], c["layers"], c["head_dim"])]
        if len(same) < 2:
            continue
        L = statistics.mean(c["lengths"])
        xs = [int(o["context"]) for o in same]
        for p in ("decode", "prefill"):
            if p in c:
                slope, icept = statistics.linear_regression(xs, [o[p]["engine_ms_per_token"] for o in same])
                c[p]["linear_ms_per_token"] = icept + slope * L
                c[p]["over_linear"] = c[p]["engine_ms_per_token"] / (icept + slope * L)
    return summary


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--output", required=True, type=Path)
    ap.add_argument("--roles", default="target,prm")
    ap.add_argument("--batches", default="16")
    ap.add_argument("--contexts", default="128,512,2048,4000")
    ap.add_argument("--mixed", default="200:4000", help="lo:hi, or '' for none")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--head-dim", type=int, default=16)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--label", default="", help="stored with each case (e.g. the commit measured)")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    a.output.mkdir(parents=True, exist_ok=True)
    path = a.output / "scaling.json"
    doc = json.loads(path.read_text()) if path.exists() else {"cases": {}}
    tok = AutoTokenizer.from_pretrained(str(TOKENIZER_DIR))
    contexts = [c for c in a.contexts.split(",") if c] + ([a.mixed] if a.mixed else [])
    longest = max(contexts, key=lambda c: max(map(int, c.split(":"))))
    for role in a.roles.split(","):
        model, arch = build_model(role, a.layers, a.head_dim)  # one per role: its random init takes seconds
        for batch in map(int, a.batches.split(",")):
            for context in contexts:
                case = Case(role, model, tok, lengths_for(context, batch), a.tokens)
                t0 = time.perf_counter()
                res = time_case(case, a.reps)
                entry = {"role": role, "batch": batch, "context": context.replace(":", "-") if ":" in context
                         else context, "lengths": case.lengths, "layers": a.layers, "head_dim": a.head_dim,
                         "heads": arch.num_attention_heads, "kv_heads": arch.num_key_value_heads,
                         "vocab": arch.vocab_size, "tokens": a.tokens, "reps": a.reps, "label": a.label,
                         "engine_attention": case.engine_impl, **res}
                if context == longest and not a.no_profile:
                    entry["profile"] = profile_case(case)
                entry["seconds"] = time.perf_counter() - t0
                key = f"{role}|b{batch}|{entry['context']}|L{a.layers}h{a.head_dim}"
                doc["cases"][key] = entry
                print(key, {p: round(res[p]["engine_over_hf"], 3) for p in res},
                      {p: round(res[p]["engine_ms_per_token"], 4) for p in res}, flush=True)
                del case
                doc["engine_over_hf"] = summarise(doc["cases"])
                path.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc["engine_over_hf"], indent=1))


if __name__ == "__main__":
    main()

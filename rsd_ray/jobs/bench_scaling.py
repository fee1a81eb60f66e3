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
are not counted; `_wall` figures beside them). With `--device cuda` (bf16 by
default there) the models run on the GPU and the figures are wall time after
the device's work is finished (`_cpu` figures beside them): the kernels, not
the host, are what is measured; `engine_over_hf` is the
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
import json
import statistics
import time
from pathlib import Path

import torch
from transformers import AutoTokenizer

from rsd_ray.jobs.bench_scaling_case import Case, build_model, lengths_for
from rsd_ray.standins.build import TOKENIZER_DIR


def time_case(case: Case, reps: int) -> dict:
    # clock index 0 = thread CPU time, 1 = wall: the headline figure is CPU time on the CPU, wall on a GPU
    clocks = (("", 1), ("_cpu", 0)) if case.device.type == "cuda" else (("", 0), ("_wall", 1))
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
        for clock_name, j in clocks:
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

    gpu = case.device.type == "cuda"
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if gpu else [])
    out = {}
    phases = [("prefill", case.engine_prefill)] + ([] if case.role == "prm" else [("decode", case.engine_decode)])
    for phase, fn in phases:
        with profile(activities=acts) as prof:
            fn()
        def self_us(e) -> float:  # where the time goes: the device's kernels on a GPU, the host's ops on a CPU
            return e.self_device_time_total if gpu else e.self_cpu_time_total
        ev = sorted(prof.key_averages(), key=self_us, reverse=True)
        total = sum(map(self_us, ev)) or 1
        out[phase] = [{"op": e.key, "self_ms": self_us(e) / 1e3, "share": self_us(e) / total,
                       "calls": e.count} for e in ev[:top]]
    return out


def summarise(cases: dict) -> dict:
    """engine_over_hf per role, batch, context and phase; per case, the least-squares line through
    the engine's equal-length costs of its role, batch and model (per-token cost linear in context)."""
    summary: dict = {}
    def model_of(c: dict) -> tuple:
        return c["role"], c["batch"], c["layers"], c["head_dim"], c.get("device", "cpu")
    for c in cases.values():
        key = f"{c['role']} b{c['batch']} L{c['layers']}h{c['head_dim']}" + (
            "" if c.get("device", "cpu") == "cpu" else f" {c['device']}")
        summary.setdefault(key, {})[c["context"]] = {p: round(c[p]["engine_over_hf"], 3)
                                                     for p in ("decode", "prefill") if p in c}
    for c in cases.values():
        same = [o for o in cases.values() if o["context"].isdigit() and model_of(o) == model_of(c)]
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
    ap.add_argument("--device", default="cpu", help="cpu, or cuda (times the GPU's kernels: wall after a sync)")
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], help="default: float32 on cpu, bfloat16 on cuda")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    a.output.mkdir(parents=True, exist_ok=True)
    path = a.output / "scaling.json"
    doc = json.loads(path.read_text()) if path.exists() else {"cases": {}}
    tok = AutoTokenizer.from_pretrained(str(TOKENIZER_DIR))
    contexts = [c for c in a.contexts.split(",") if c] + ([a.mixed] if a.mixed else [])
    longest = max(contexts, key=lambda c: max(map(int, c.split(":"))))
    for role in a.roles.split(","):
        dtype = getattr(torch, a.dtype or ("bfloat16" if a.device.startswith("cuda") else "float32"))
        model, arch = build_model(role, a.layers, a.head_dim, device=a.device, dtype=dtype)  # one per role
        for batch in map(int, a.batches.split(",")):
            for context in contexts:
                case = Case(role, model, tok, lengths_for(context, batch), a.tokens)
                t0 = time.perf_counter()
                res = time_case(case, a.reps)
                entry = {"role": role, "batch": batch, "context": context.replace(":", "-") if ":" in context
                         else context, "lengths": case.lengths, "layers": a.layers, "head_dim": a.head_dim,
                         "heads": arch.num_attention_heads, "kv_heads": arch.num_key_value_heads,
                         "vocab": arch.vocab_size, "tokens": a.tokens, "reps": a.reps, "label": a.label,
                         "device": a.device, "dtype": str(dtype).removeprefix("torch."),
                         "engine_attention": case.engine_impl, **res}
                if context == longest and not a.no_profile:
                    entry["profile"] = profile_case(case)
                entry["seconds"] = time.perf_counter() - t0
                key = f"{role}|b{batch}|{entry['context']}|L{a.layers}h{a.head_dim}" + (
                    "" if a.device == "cpu" else f"|{a.device}")
                doc["cases"][key] = entry
                print(key, {p: round(res[p]["engine_over_hf"], 3) for p in res},
                      {p: round(res[p]["engine_ms_per_token"], 4) for p in res}, flush=True)
                del case
                doc["engine_over_hf"] = summarise(doc["cases"])
                path.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc["engine_over_hf"], indent=1))


if __name__ == "__main__":
    main()

"""`rsd-ray check-gpu`: the real path on one device, in one command, with no download.

Builds the real-shape stand-ins (1.5B draft, 7B target, 1.5B Skywork-layout
PRM; full depth and width in bf16 on a GPU, `--tiny`: one thin layer on the
CPU, so the suite runs the same script and it cannot rot), loads them through
the project's loaders once (every check below uses the same three engines),
and checks and times:

1. the batched, cached, padded step engine against each prompt decoded alone
   with no cache (greedy tokens equal; non-finite logits counted);
2. PRM rewards from the cached engine against one whole-sequence forward;
3. long contexts (~3.5k tokens, 64 requests; `--tiny`: short) with the KV the
   engine held and the device's peak memory against `rsd-ray plan`;
4. throughput target-only against rsd at batch 64, with time per role, and
   rsd under the reference's lock-step rounds (same answers; `vs_lockstep`);
5. the per-forward overhead on this device (`{role}.overhead_tokens`).

Prints one JSON report (also written with `--output FILE`); exits 1 when a check fails.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import torch

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "qwen-1.5b-7b-skywork-1.5b.yaml"
LONG_TOKENS = 3500  # the long-context check's prompts (Qwen2.5-Math's context is 4,096)


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def run_check(tiny: bool, output: Path | None = None, log=print) -> int:
    from rsd_ray.config import load_config
    from rsd_ray.runner.local import LocalBackend
    from rsd_ray.standins import build_standins

    report: dict = {"env": _env(), "tiny": tiny, "checks": {}}
    device = "cuda" if torch.cuda.is_available() and not tiny else "cpu"
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        s = build_standins(Path(tmp), which=("draft-1.5b", "target-7b", "skywork-prm-1.5b"), dtype=torch.bfloat16,
                           **({"layers": 1} if tiny else {"full_depth": True, "head_dim": None}))
        report["build_s"] = round(time.perf_counter() - t0, 1)
        sets = [f"draft.path={s['draft-1.5b']}", f"target.path={s['target-7b']}", f"prm.path={s['skywork-prm-1.5b']}",
                *(f"{r}.device={device}" for r in ("draft", "target", "prm")),
                f"generation.max_prompt_tokens={LONG_TOKENS + 100}"]  # room for the long-context check
        if device == "cpu":
            sets += [f"{r}.dtype=float32" for r in ("draft", "target", "prm")]  # bf16 matmuls crawl on most CPUs
        cfg = load_config(RECIPE, sets)
        t0 = time.perf_counter()
        engines = LocalBackend.load(cfg, ["rsd"])  # draft, target and PRM, each loaded once
        report["load_s"] = round(time.perf_counter() - t0, 1)
        checks = report["checks"]
        checks["engine_vs_unpadded"] = _engine_vs_unpadded(engines.target, n=8 if tiny else 32)
        checks["prm_cached_vs_whole"] = _prm_cached_vs_whole(engines.prm)
        checks["long_context"] = _long_context(cfg, engines.target, requests=8 if tiny else 64,
                                               tokens=300 if tiny else LONG_TOKENS)
        checks["throughput"] = _throughput(cfg, engines, rows=16 if tiny else 64, steps_cap=tiny)
        checks["overhead_tokens"] = _overhead(engines.target)
    report["ok"] = all(c.get("ok", True) for c in report["checks"].values())
    text = json.dumps(report, indent=2)
    log(text)
    if output:
        output.write_text(text + "\n")
    return 0 if report["ok"] else 1


def _env() -> dict:
    import deepspeed
    import ray
    import transformers

    cuda = torch.cuda.is_available()
    return {"torch": torch.__version__, "cuda": torch.version.cuda, "transformers": transformers.__version__,
            "deepspeed": deepspeed.__version__, "ray": ray.__version__,
            "device": torch.cuda.get_device_name(0) if cuda else "cpu",
            "device_memory_gib": round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1) if cuda else None}


def _prompts(n: int) -> list[str]:
    return [f"Let x = {i} + {2 * i + 1}. What is {3 + i} times x, minus {i % 7}?" for i in range(n)]


def _engine_vs_unpadded(g, n: int) -> dict:
    """Greedy step tokens of a batch of different prompt lengths equal each prompt decoded alone."""
    from rsd_ray.core.records import StepCall

    calls = [StepCall(f"r{i}", p, (), 16, 0, 0) for i, p in enumerate(_prompts(n))]
    batched = [r.text for r in g.generate_steps(calls)]
    g.release([c.request_id for c in calls])
    same, nonfinite = 0, 0
    for c, text in zip(calls, batched):
        ids = torch.tensor([g.prompt_ids(c.problem)], device=g.device)
        out: list[int] = []
        with torch.no_grad():
            for _ in range(16):
                logits = g.model(input_ids=torch.cat([ids, torch.tensor([out], dtype=torch.long, device=g.device)], 1)
                                 if out else ids).logits[0, -1]
                nonfinite += int((~torch.isfinite(logits)).sum())
                out.append(int(logits.argmax()))
                if g.delimiter in g.tok.decode(out) or out[-1] in g.eos_ids:
                    break
        alone = g.tok.decode(out).split(g.delimiter)[0]
        same += bool(text) and (alone.startswith(text) or text.startswith(alone))  # an empty step proves nothing
    # bf16 on a GPU: a near tie can flip between two kernel paths; most rows must agree exactly
    return {"rows": n, "same": same, "nonfinite_logits": nonfinite, "ok": nonfinite == 0 and same >= 0.9 * n}


def _prm_cached_vs_whole(prm) -> dict:
    from rsd_ray.core.records import ScoreCall

    steps = ("First, 2 + 3 = 5.", "Then 5 * 4 = 20:", "So the answer is \\boxed{20}.")
    cached = [prm.score([ScoreCall("p", "What is (2 + 3) * 4?", steps[: k + 1])])[0].last for k in range(3)]
    ids = prm.render_prompt("What is (2 + 3) * 4?")
    ends = []
    for k, st in enumerate(steps):
        ids = ids + prm.render_step(k, st)
        ends.append(len(ids) - 1)
    with torch.no_grad():
        h = prm.model(input_ids=torch.tensor([ids], device=prm.device)).last_hidden_state
        whole = prm.reward(prm.head(h.to(next(prm.head.parameters()).dtype)).float())[0, ends].tolist()
    err = max(abs(a - b) for a, b in zip(cached, whole))
    return {"cached": cached, "whole": whole, "max_abs_diff": err, "ok": err < 2e-2}


def _long_context(cfg, g, requests: int, tokens: int) -> dict:
    """`requests` prompts of about `tokens` tokens, two steps each: KV held and peak memory vs plan
    (the plan for these calls: `requests` at once, their prompt length, 64 new tokens; device peak:
    all three models)."""
    from dataclasses import replace

    from rsd_ray.cluster.plan import arch_of, kv_bytes_per_rank
    from rsd_ray.core.records import StepCall

    gen = replace(cfg.generation, max_prompt_tokens=tokens + 64, max_new_tokens=64, max_steps=4)
    cfg = replace(cfg, generation=gen, run=replace(cfg.run, batch_size=requests, min_target_batch=1))
    text = " ".join(["one two three four"] * (tokens // 4))
    calls = [StepCall(f"l{i}", f"{i}: {text}", (), 16, 0, 0) for i in range(requests)]
    if torch.cuda.is_available() and g.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    _sync()
    t0 = time.perf_counter()
    first = g.generate_steps(calls)
    second = g.generate_steps([replace(c, steps=(r.text,), step_index=1) for c, r in zip(calls, first)])
    _sync()
    planned = kv_bytes_per_rank(cfg, "target", cfg.target, arch_of(cfg.target))
    peak = torch.cuda.max_memory_allocated() if g.device.type == "cuda" else None
    return {"requests": requests, "prompt_tokens": len(g.prompt_ids(calls[0].problem)), "wall_s": round(time.perf_counter() - t0, 2),
            "errors": sum(r.error is not None for r in first + second),
            "kv_held_gib": round(g.peak_kv_bytes / 2**30, 3), "kv_plan_gib": round(planned / 2**30, 3),
            "device_peak_gib_all_models": round(peak / 2**30, 3) if peak else None,
            "ok": g.peak_kv_bytes <= planned and not any(r.error for r in first + second)}


def _throughput(cfg, engines, rows: int, steps_cap: bool) -> dict:
    """Target-only against rsd on the same problems at batch 64, with each role's engine time."""
    from dataclasses import replace

    from rsd_ray.data.rows import Row
    from rsd_ray.runner.local import LocalBackend
    from rsd_ray.runner.modes import make_states

    gen = replace(cfg.generation, max_new_tokens=96 if steps_cap else 512, max_step_tokens=32, max_steps=8)
    cfg = replace(cfg, generation=gen, rsd=replace(cfg.rsd, delta=0.5), run=replace(cfg.run, batch_size=64))
    problems = [Row(f"t{i}", p, None, "math") for i, p in enumerate(_prompts(rows))]
    backend = LocalBackend(64, engines.draft, engines.target, engines.prm, min_target_batch=cfg.run.target_gather(),
                           max_in_flight=cfg.run.in_flight_cap())
    out: dict = {"rows": rows}
    answers = {}
    for name, mode, b in (("target", "target", backend), ("rsd", "rsd", backend),
                          ("lockstep", "rsd", replace(backend, lockstep=True))):  # the reference's rounds
        timed = _time_roles(b)
        _sync()
        t0 = time.perf_counter()
        states = b.solve(make_states(problems, cfg, mode))
        _sync()
        out[name] = {"wall_s": round(time.perf_counter() - t0, 2), "role_s": {k: round(v, 2) for k, v in timed.items()},
                     "steps": sum(len(s.steps) for s in states), "errors": sum(bool(s.error) for s in states)}
        answers[name] = {s.request.id: s.response for s in states}
    out["vs_lockstep"] = round(out["lockstep"]["wall_s"] / out["rsd"]["wall_s"], 3)  # continuous rows/s over lock-step's
    out["ok"] = out["target"]["errors"] == out["rsd"]["errors"] == 0 and answers["lockstep"] == answers["rsd"]
    return out


def _time_roles(backend) -> dict[str, float]:
    """Wrap each role's engine call with a timer (replaced on every call of this function)."""
    spent: dict[str, float] = {}
    for role, method in (("draft", "generate_steps"), ("target", "generate_steps"), ("prm", "score")):
        engine = getattr(backend, role)
        if engine is None:
            continue
        inner = getattr(type(engine), method).__get__(engine)
        spent[role] = 0.0

        def timed(calls, inner=inner, role=role):
            _sync()
            t = time.perf_counter()
            r = inner(calls)
            _sync()
            spent[role] += time.perf_counter() - t
            return r
        setattr(engine, method, timed)
    return spent


def _overhead(g) -> dict:
    """One forward's fixed cost in tokens of prefill: time(1 token) / marginal time per token."""

    def t(n: int) -> float:
        x = torch.randint(0, 1000, (8, n), device=g.device)
        with torch.no_grad():
            g.model(input_ids=x, logits_to_keep=1)
            _sync()
            t0 = time.perf_counter()
            for _ in range(3):
                g.model(input_ids=x, logits_to_keep=1)
            _sync()
        return (time.perf_counter() - t0) / 3

    one, many = t(1), t(257)
    per_token = max((many - one) / (256 * 8), 1e-9)  # one more token of one row of the batch of 8
    return {"forward_8x1_ms": round(one * 1e3, 2), "per_token_ms": round(per_token * 1e3, 5),
            "suggested_overhead_tokens": max(1, round(one / per_token))}


def add_parser(sub):
    p = sub.add_parser("check-gpu", help="the real path on this device: stand-ins at real shapes, checks, timings")
    p.add_argument("--tiny", action="store_true", help="one thin layer on the CPU (what the suite runs)")
    p.add_argument("--output", type=Path, help="also write the JSON report here")
    p.set_defaults(handler=lambda args: run_check(args.tiny, args.output))
    return p

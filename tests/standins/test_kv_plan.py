"""`rsd-ray plan`'s KV figure against the bytes the engine really holds after a long-context run.

64 requests with prompts of about 1,000 real-tokenizer tokens, three steps each,
on the 7B stand-in (28 heads, 4 KV heads); the engine reports the most bytes its
KV arena and its batch cache held at once, and the plan, computed for the same
settings, must not be under it. Scaled by the bytes per token slot, the same
holds for the 72B recipe at TP 4 and 8: its figure is the same formula.
"""

from pathlib import Path

import pytest

from rsd_ray.cluster.plan import arch_of, kv_bytes_per_rank
from rsd_ray.config import load_config
from rsd_ray.core.records import StepCall
from rsd_ray.models.roles import build_generator

RECIPES = Path(__file__).resolve().parents[2] / "rsd_ray" / "recipes"
RUN = ["run.batch_size=64", "run.min_target_batch=1", "generation.max_prompt_tokens=1024",
       "generation.max_new_tokens=64", "generation.max_steps=4"]


def slot_bytes(cfg, role):
    m = getattr(cfg, role)
    a = arch_of(m)
    return a.layers * 2 * a.kv_heads // m.tp * a.head_dim * {"bfloat16": 2, "float16": 2, "float32": 4}[m.dtype]


@pytest.mark.slow
def test_plan_kv_is_at_least_what_the_arena_and_batch_cache_hold(standins):
    cfg = load_config(RECIPES / "qwen-1.5b-7b-skywork-1.5b.yaml", [f"target.path={standins['target-7b']}", *RUN])
    g = build_generator(cfg, "target")
    words = "the sum of the first n odd numbers is a perfect square and we show it step by step".split()
    problems = [" ".join(words[(i + j) % len(words)] for j in range(900 + i)) for i in range(64)]
    assert all(900 < len(g.prompt_ids(p)) <= cfg.generation.max_prompt_tokens for p in problems)
    steps: list[list[str]] = [[] for _ in problems]
    for k in range(3):
        calls = [StepCall(f"r{i}", p, tuple(steps[i]), 8, k, 0) for i, p in enumerate(problems)]
        for i, r in enumerate(g.generate_steps(calls)):
            assert r.error is None
            steps[i].append(r.text)
    measured = g.peak_kv_bytes
    planned = kv_bytes_per_rank(cfg, "target", cfg.target, arch_of(cfg.target))
    print(f"KV: measured {measured / 2**20:.1f} MiB, plan {planned / 2**20:.1f} MiB")
    assert measured > 0.3 * planned  # the run really filled what it is checked against
    assert planned >= measured
    big = load_config(RECIPES / "qwen-7b-72b-skywork-7b.yaml", RUN)
    for tp in (4, 8):
        big.target.tp = tp
        scaled = measured * slot_bytes(big, "target") / slot_bytes(cfg, "target")
        assert kv_bytes_per_rank(big, "target", big.target, arch_of(big.target)) >= scaled

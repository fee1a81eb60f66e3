"""Measure the zoo's quality on its held-out problems: what issue #2 asks of it.

Accuracy of draft and target (greedy, whole solutions), the PRM's step-level
AUROC on the draft's steps, parameter counts, and the forward cost of one
decode step at batch 64 (median of repeated timings; a measurement, reported,
never asserted in tests).
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from rsd_ray.config import load_config
from rsd_ray.models.roles import build_prm
from rsd_ray.zoo.prm_model import ValueHeadPRM
from rsd_ray.zoo.quality import auroc, draft_step_labels, prm_step_scores
from rsd_ray.zoo.task import DELIMITER, Problem
from rsd_ray.zoo.train import greedy_solutions


def load_problems(zoo: Path, n: int | None = None) -> list[Problem]:
    rows = [json.loads(line) for line in open(zoo / "problems.jsonl")]
    return [Problem(r["id"], r["problem"], r["solution"], r["answer"]) for r in rows[:n]]


def decode_step_ms(model, batch: int = 64, prefix: int = 60, reps: int = 30) -> float:
    """Median time of one KV-cached decode step at `batch` after a `prefix`-token prompt."""
    vocab = model.config.vocab_size
    with torch.no_grad():
        out = model(torch.randint(3, vocab, (batch, prefix)), use_cache=True)
        cache = out.past_key_values
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            model(torch.randint(3, vocab, (batch, 1)), cache=cache, use_cache=True)
            times.append(time.perf_counter() - t0)
            cache.crop(-1)
    return 1000 * statistics.median(times)


def report(zoo: Path, n: int = 500) -> dict:
    problems = load_problems(zoo, n)
    tok = AutoTokenizer.from_pretrained(zoo / "draft")
    out: dict = {"problems": len(problems)}
    models = {}
    for name in ("draft", "target"):
        m = models[name] = AutoModelForCausalLM.from_pretrained(zoo / name, dtype=torch.float32).eval()
        sols = greedy_solutions(m, tok, problems)
        out[f"{name}_accuracy"] = sum(s.strip() == p.solution for s, p in zip(sols, problems)) / len(problems)
        out[f"{name}_params"] = sum(p.numel() for p in m.parameters())
        if name == "draft":
            steps = draft_step_labels(problems, sols)
    cfg = load_config(overrides=[f"prm.path={zoo / 'prm'}"])
    prm = build_prm(cfg)
    train_view = ValueHeadPRM(prm.model, prm.model.config.hidden_size)
    train_view.v_head.summary = prm.head
    scores = prm_step_scores(train_view, tok, steps, tok.encode(DELIMITER)[-1])
    labels = [y for *_, y in steps]
    out["prm_params"] = sum(p.numel() for p in prm.model.parameters()) + sum(p.numel() for p in prm.head.parameters())
    out["prm_auroc_draft_steps"] = auroc(scores, labels)
    out["draft_steps"] = len(labels)
    out["draft_step_error_rate"] = 1 - sum(labels) / len(labels)
    ms = {name: decode_step_ms(m) for name, m in models.items()}
    out["decode_ms_b64"] = ms
    out["target_over_draft_cost_b64"] = ms["target"] / ms["draft"]
    return out

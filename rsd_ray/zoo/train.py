"""Training recipes for the zoo's generators (draft, target, PRM base); the PRM's own: prm_train.py.

Everything here is seeded and runs on CPU; `rsd-ray zoo build` calls it once
and the resulting weights are committed, so no job ever trains.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase, Qwen2Config, Qwen2ForCausalLM

from rsd_ray.zoo.task import DELIMITER, Problem, TaskSpec, make_problem

PROMPT_TEMPLATE = "{problem}" + DELIMITER


@dataclass(frozen=True)
class Arch:
    layers: int
    hidden: int
    heads: int
    intermediate: int

    def config(self, tok: PreTrainedTokenizerBase) -> Qwen2Config:
        return Qwen2Config(
            vocab_size=len(tok), hidden_size=self.hidden, intermediate_size=self.intermediate,
            num_hidden_layers=self.layers, num_attention_heads=self.heads,
            num_key_value_heads=self.heads, max_position_embeddings=256,
            tie_word_embeddings=True, rope_theta=10000.0,
            bos_token_id=None, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
        )


@dataclass(frozen=True)
class Schedule:
    max_steps: int
    lr: float
    batch: int = 64
    warmup: int = 50
    eval_every: int = 100
    stop_at: float = 1.01  # stop early once validation accuracy reaches this


def problem_stream(seed: int, spec: TaskSpec, exclude: set[str]) -> Iterator[Problem]:
    rng = random.Random(seed)
    i = 0
    while True:
        p = make_problem(rng, spec, f"train-{i}")
        i += 1
        if p.problem not in exclude:
            yield p


def lm_batch(tok: PreTrainedTokenizerBase, problems: list[Problem]) -> dict[str, torch.Tensor]:
    """Right-padded batch with the loss on the solution and EOS only."""
    rows, masks = [], []
    for p in problems:
        prompt = tok.encode(PROMPT_TEMPLATE.format(problem=p.problem))
        sol = tok.encode(p.solution) + [tok.eos_token_id]
        rows.append(prompt + sol)
        masks.append([0] * len(prompt) + [1] * len(sol))
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), tok.pad_token_id)
    labels = torch.full((len(rows), width), -100)
    attn = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (r, m) in enumerate(zip(rows, masks)):
        ids[i, : len(r)] = torch.tensor(r)
        attn[i, : len(r)] = 1
        labels[i, : len(r)] = torch.where(torch.tensor(m) == 1, torch.tensor(r), -100)
    return {"input_ids": ids, "attention_mask": attn, "labels": labels}


def lr_at(step: int, s: Schedule) -> float:
    """Linear warm-up, then a cosine down to a tenth of the peak (shared with prm_train.py)."""
    if step < s.warmup:
        return s.lr * (step + 1) / s.warmup
    frac = (step - s.warmup) / max(1, s.max_steps - s.warmup)
    return s.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))


@torch.no_grad()
def greedy_solutions(model, tok, problems: list[Problem], batch: int = 256, max_new: int = 80,
                     sample: bool = False, seed: int = 0) -> list[str]:
    """Whole solutions with model.generate (left padding); used for zoo building and eval."""
    model.eval()
    out: list[str] = []
    gen = torch.Generator().manual_seed(seed)
    for i in range(0, len(problems), batch):
        chunk = problems[i : i + batch]
        enc = tok([PROMPT_TEMPLATE.format(problem=p.problem) for p in chunk], return_tensors="pt",
                  padding=True, padding_side="left")
        if sample:
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
        ids = model.generate(**enc, max_new_tokens=max_new, do_sample=sample, temperature=1.0 if sample else None,
                             top_p=None, top_k=None, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
        out += tok.batch_decode(ids[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    return out


def accuracy(model, tok, problems: list[Problem]) -> float:
    sols = greedy_solutions(model, tok, problems)
    return sum(s.strip() == p.solution for s, p in zip(sols, problems)) / len(problems)


# A training curve, one point per evaluation: "step", "loss" (the mean over the steps
# since the previous point, so two points compare more than two batches), the
# validation metric, and for the PRM "fixed_loss" (train_prm). build.json records it.
Curve = list[dict[str, float]]


def train_generator(tok, arch: Arch, sched: Schedule, spec: TaskSpec, seed: int, val: list[Problem],
                    exclude: set[str], log: Callable[[str], None] = print) -> tuple[Qwen2ForCausalLM, Curve]:
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(arch.config(tok))
    opt = torch.optim.AdamW(model.parameters(), lr=sched.lr, weight_decay=0.01, betas=(0.9, 0.98))
    stream = problem_stream(seed, spec, exclude)
    curve: Curve = []
    losses: list[float] = []
    for step in range(sched.max_steps):
        model.train()
        for g in opt.param_groups:
            g["lr"] = lr_at(step, sched)
        loss = model(**lm_batch(tok, [next(stream) for _ in range(sched.batch)])).loss
        loss.backward()
        losses.append(loss.item())
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if (step + 1) % sched.eval_every == 0 or step + 1 == sched.max_steps:
            acc = accuracy(model, tok, val)
            curve.append({"step": step + 1, "loss": sum(losses) / len(losses), "val_acc": acc})
            losses = []
            log(f"  step {step + 1}: loss {curve[-1]['loss']:.4f} val_acc {acc:.3f}")
            if acc >= sched.stop_at:
                break
    return model.eval(), curve

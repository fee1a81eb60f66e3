"""Training recipes for the zoo: generators (draft, target, PRM base) and the PRM.

Everything here is seeded and runs on CPU; `rsd-ray zoo build` calls it once
and the resulting weights are committed, so no job ever trains.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from transformers import PreTrainedTokenizerBase, Qwen2Config, Qwen2ForCausalLM

from rsd_ray.zoo.task import _STEP, DELIMITER, Problem, TaskSpec, expected_step, make_problem, step_is_correct
from rsd_ray.zoo.prm_model import ValueHeadPRM

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


def _lr_at(step: int, s: Schedule) -> float:
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
            g["lr"] = _lr_at(step, sched)
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


# ---- PRM -------------------------------------------------------------------

def split_steps(solution: str) -> list[str]:
    return [s for s in solution.split(DELIMITER)]


def prm_example(tok, problem: str, steps: list[str], step_token_id: int,
                bos: str = "") -> tuple[list[int], list[float], list[int]]:
    """Skywork-layout input (bos + problem + "\\n", each step + step token) with dense labels.

    Labels: at every token of a step, 1 while the step so far is a prefix of
    the one correct step (given its own prefix), else 0; at the step token, 1
    if the whole step is correct. Dense labels are what make verification
    learnable at this size (DESIGN.md section 4).
    """
    ids = tok.encode(bos + problem + "\n")
    labels: list[float] = [-1.0] * len(ids)
    flags: list[int] = [0] * len(ids)
    for k, step in enumerate(steps):
        prior = steps[:k]
        want = expected_step(problem, prior)
        for j, t in enumerate(tok.encode(step)):
            ids.append(t)
            labels.append(1.0 if want is not None and want.startswith(step[: j + 1]) else 0.0)
            flags.append(0)
        ids.append(step_token_id)
        labels.append(1.0 if step_is_correct(problem, prior, step) else 0.0)
        flags.append(1)
    return ids, labels, flags


CORRUPTIONS = ("result", "operand", "carried")


def corrupt(step: str, rng: random.Random, kinds: tuple[str, ...] = ("result",)) -> str:
    """A plausible wrong version of a correct step.

    "result": the result off by a little (a digit, a carry); "operand": the
    right operand miscopied from the problem, the arithmetic then consistent;
    "carried": the left operand not the previous result, arithmetic consistent.
    The last two are the draft's own favourite mistakes that a PRM checking
    only the arithmetic lets through.
    """
    m = _STEP.match(step)
    if m is None:  # the boxed answer
        v = int(step[len("\\boxed{"):-1])
        w = abs(v + rng.choice([-10, -1, 1, 2]))
        return f"\\boxed{{{w if w != v else v + 1}}}"
    a, op, b, c = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
    kind = rng.choice(kinds) if len(kinds) > 1 else kinds[0]  # (one kind draws nothing: recipes stay reproducible)
    if kind == "result":
        w = abs(c + rng.choice([-10, -2, -1, 1, 2, 10, 20, 100]))
        return f"{a}{op}{b}={w if w != c else c + 1}"
    if kind == "operand":
        b2 = max(0, b + rng.choice([-10, -1, 1, 10, 16])) if b != 0 else b + 1
        a2 = a
    else:
        a2 = max(0, a + rng.choice([-10, -1, 1, 10]))
        b2 = b
    if (a2, b2) == (a, b):
        a2 += 1
    return f"{a2}{op}{b2}={a2 + b2 if op == '+' else a2 - b2}"


def prm_batch(rows: list[tuple[list[int], list[float], list[int]]], pad_id: int):
    width = max(len(r[0]) for r in rows)
    ids = torch.full((len(rows), width), pad_id)
    attn = torch.zeros((len(rows), width), dtype=torch.long)
    lab = torch.full((len(rows), width), -1.0)
    flag = torch.zeros((len(rows), width))
    for i, (r, l, f) in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        attn[i, : len(r)] = 1
        lab[i, : len(l)] = torch.tensor(l)
        flag[i, : len(f)] = torch.tensor(f, dtype=torch.float)
    return ids, attn, lab, flag


FIXED_ROWS = 64  # training sequences whose loss every PRM curve point reports


def train_prm(prm: ValueHeadPRM, tok, examples: list[tuple[list[int], list[float], list[int]]],
              sched: Schedule, seed: int, eval_fn: Callable[[], float], log: Callable[[str], None] = print,
              step_weight: float = 4.0) -> tuple[ValueHeadPRM, Curve]:
    """BCE on every labelled token; the step-token positions weigh more (that is where rewards are read)."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(prm.parameters(), lr=sched.lr, weight_decay=0.01)
    # The same sequences at every curve point, so two points differ by learning only:
    # batch losses on a small data set move more with the sampling than with learning.
    fixed = examples[:: max(1, len(examples) // FIXED_ROWS)][:FIXED_ROWS]
    curve: Curve = []
    losses: list[float] = []
    for step in range(sched.max_steps):
        prm.train()
        for g in opt.param_groups:
            g["lr"] = _lr_at(step, sched)
        loss = _prm_loss(prm, rng.sample(examples, sched.batch), tok.pad_token_id, step_weight)
        loss.backward()
        losses.append(loss.item())
        torch.nn.utils.clip_grad_norm_(prm.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if (step + 1) % sched.eval_every == 0 or step + 1 == sched.max_steps:
            auroc = eval_fn()
            with torch.no_grad():
                fixed_loss = _prm_loss(prm.eval(), fixed, tok.pad_token_id, step_weight).item()
            # AUROC is nan when the validation steps are all right or all wrong; JSON has no nan.
            curve.append({"step": step + 1, "loss": sum(losses) / len(losses), "fixed_loss": fixed_loss,
                          "val_auroc": None if math.isnan(auroc) else auroc})
            losses = []
            log(f"  step {step + 1}: loss {curve[-1]['loss']:.4f} fixed {fixed_loss:.4f} val_auroc {auroc:.3f}")
            if auroc >= sched.stop_at:
                break
    return prm.eval(), curve


def _prm_loss(prm: ValueHeadPRM, rows: list[tuple[list[int], list[float], list[int]]], pad_id: int,
              step_weight: float) -> torch.Tensor:
    ids, attn, lab, flag = prm_batch(rows, pad_id)
    logits = prm(ids, attention_mask=attn)
    mask = lab >= 0
    weight = torch.where(flag > 0, step_weight, 1.0)[mask]
    return (F.binary_cross_entropy_with_logits(logits[mask], lab[mask], reduction="none") * weight).mean()

"""Training the zoo's PRM: Skywork-layout examples with dense labels, plausible wrong steps, the BCE loop.

Seeded and on CPU like the generators (train.py), whose schedule it shares.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import torch
import torch.nn.functional as F

from rsd_ray.zoo.prm_model import ValueHeadPRM
from rsd_ray.zoo.task import _STEP, DELIMITER, expected_step, step_is_correct
from rsd_ray.zoo.train import Curve, Schedule, lr_at


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
            g["lr"] = lr_at(step, sched)
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

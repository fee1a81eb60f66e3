"""Zoo quality measures: step labels for draft solutions, PRM scores, AUROC."""

from __future__ import annotations

import torch

from rsd_ray.zoo.prm_train import prm_batch, prm_example
from rsd_ray.zoo.task import DELIMITER, Problem, step_is_correct


def draft_step_labels(problems: list[Problem], solutions: list[str]) -> list[tuple[str, list[str], int]]:
    """(problem, steps up to and including this one, label) for every step of every solution."""
    out = []
    for p, sol in zip(problems, solutions):
        steps = sol.strip().split(DELIMITER)
        for k in range(len(steps)):
            out.append((p.problem, steps[: k + 1], int(step_is_correct(p.problem, steps[:k], steps[k]))))
    return out


@torch.no_grad()
def prm_step_scores(prm, tok, items: list[tuple[str, list[str], int]], step_token_id: int,
                    batch: int = 256) -> list[float]:
    """Reward of the last step of each item, read at its step token (whole-sequence forward)."""
    prm.eval()
    scores: list[float] = []
    for i in range(0, len(items), batch):
        rows = [prm_example(tok, prob, steps, step_token_id) for prob, steps, _ in items[i : i + batch]]
        ids, attn, _, _ = prm_batch(rows, tok.pad_token_id)
        probs = torch.sigmoid(prm(ids, attention_mask=attn).float())
        lengths = attn.sum(1) - 1
        scores += probs[torch.arange(len(rows)), lengths].tolist()
    return scores


def auroc(scores: list[float], labels: list[int]) -> float:
    """Probability that a random correct step outscores a random wrong one (ties count half)."""
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    if not pos or not neg:
        return float("nan")
    s = torch.tensor(scores)
    ranks = torch.empty_like(s)
    order = torch.argsort(s)
    ranks[order] = torch.arange(1, len(s) + 1, dtype=s.dtype)
    # average ranks over ties
    for v in torch.unique(s):
        m = s == v
        ranks[m] = ranks[m].mean()
    y = torch.tensor(labels, dtype=torch.bool)
    return float((ranks[y].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))

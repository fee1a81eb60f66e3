"""Calibrating delta to a budget on target calls (`rsd-ray calibrate --target-budget F`).

Under a budget on target calls the paper's optimal rule is the binary
threshold w(r) = 1{r >= delta}; the budget decides delta. A rejected draft
step is replaced by exactly one target step, so the share of target-written
steps, steps_target / (accepted + target), equals the fraction of draft steps
rejected, #{r < delta} / #draft steps. From the rewards of every draft step of
one calibration run the share at any other delta can be read off without a
rerun. It is an estimate only: another delta changes the prefixes later steps
are drafted from (and so their rewards and the number of steps), which is why
the job verifies the chosen delta on held-out rows.

Under a budget, a larger delta keeps more steps for the target (the
quality lever); the delta picked is the largest one whose estimated share
stays at or under the budget, i.e. the threshold that spends the budget, not
one that leaves it unused.
"""

from __future__ import annotations

import math
from rsd_ray.core.request import RequestState


def estimated_share(rewards: list[float], delta: float) -> float:
    """Share of target-written steps at `delta`: the fraction of draft steps with reward < delta."""
    if not rewards:
        raise ValueError("no draft-step rewards to calibrate on")
    return sum(r < delta for r in rewards) / len(rewards)


def pick_delta(rewards: list[float], budget: float) -> float:
    """The largest delta whose estimated target share is at most `budget` (binary weighting).

    share(delta) = #{r < delta} / n is a non-decreasing step function of delta
    that jumps just above each reward. With k = floor(budget * n), delta = the
    (k+1)-th smallest reward leaves at most k rewards below it, and any larger
    delta at least k+1. A budget of 1 or more allows every step to go to the
    target: delta = 1 (rewards are in [0, 1]) unless a reward above 1 exists.
    """
    if not 0.0 <= budget:
        raise ValueError(f"target budget must be >= 0, got {budget}")
    if not rewards:
        raise ValueError("no draft-step rewards to calibrate on")
    if any(math.isnan(r) for r in rewards):
        raise ValueError("a draft-step reward is NaN")
    return delta_for_share(sorted(rewards), budget)


def delta_for_share(ordered: list[float], budget: float) -> float:
    """pick_delta on rewards already sorted (the online budget keeps its pool sorted)."""
    n = len(ordered)
    k = math.floor(budget * n + 1e-9)  # exact budgets (0.3 x 10 = 3) survive float rounding
    if k >= n:
        return max(1.0, math.nextafter(ordered[-1], math.inf))
    return ordered[k]


def share_curve(rewards: list[float], deltas: list[float]) -> list[tuple[float, float]]:
    """(delta, estimated share) pairs, for the calibration report."""
    return [(d, estimated_share(rewards, d)) for d in deltas]


def row_draft_rewards(steps: list[dict] | None, rejected: list[dict] | None) -> tuple[list[float], list[float]]:
    """The rewards of a committed output row's draft steps (the output schema's steps and rejected
    columns): (those accepted, those turned down). Target steps, even scored ones, are not draft steps."""
    kept = [s["reward"] for s in steps or () if s["source"] == "draft" and s["reward"] is not None]
    return kept, [r["reward"] for r in rejected or ()]


def draft_rewards(state: RequestState) -> list[float]:
    """The reward of every draft step an rsd request had scored, in order: accepted ones are
    on its steps (target steps, even scored ones, are not draft steps), rejected ones in
    `state.rejected` at the index of the step the target wrote instead."""
    out: list[float] = []
    for k in range(len(state.steps) + 1):
        out += [r.reward for r in state.rejected if r.index == k]
        if k < len(state.steps) and state.steps[k].source == "draft" and state.steps[k].reward is not None:
            out.append(state.steps[k].reward)  # type: ignore[arg-type]
    return out

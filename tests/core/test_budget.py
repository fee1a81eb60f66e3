"""The online target budget (core/budget.py): the gate's order, determinism, and that the share holds."""

import random

import pytest

from rsd_ray.core.budget import TargetBudget
from rsd_ray.core.calibration import pick_delta


def simulate(budget: TargetBudget, rows: int, seed: int = 0, order_seed: int | None = None,
             in_flight: int = 32) -> tuple[float, dict[int, float]]:
    """A stand-in for a run: each row drafts steps with rewards from its own stream until it has
    6 steps; a step under delta is rejected and the target writes one instead. Rows are admitted
    in seq order through the gate and finish in an order drawn by `order_seed` (the batching).
    Returns the run's target share and each row's delta."""
    order = random.Random(order_seed)
    deltas: dict[int, float] = {}
    target = steps = 0
    nxt, live = 0, []
    while nxt < rows or live:
        while nxt < rows and len(live) < in_flight and budget.ready(nxt):
            deltas[nxt] = budget.delta(nxt)
            live.append(nxt)
            nxt += 1
        assert live, "the gate holds a row with nothing in flight"
        seq = live.pop(order.randrange(len(live)) if order_seed is not None else 0)
        rng = random.Random(f"{seed}:{seq}")
        rewards, t = [], 0
        for _ in range(6):
            r = rng.betavariate(5, 1.2)  # most draft steps good, a tail of bad ones
            rewards.append(r)
            t += r < deltas[seq]
        target += t
        steps += 6
        budget.report(seq, f"r{seq}", rewards, t, 6)
    return target / steps, deltas


@pytest.mark.parametrize("f", [0.3, 0.15])
def test_the_run_holds_its_budget_from_a_start_delta_far_off(f):
    # delta 0 sends nothing to the target: the first windows spend none of the budget, the
    # correction must make it up later
    share, deltas = simulate(TargetBudget(f, start_delta=0.0, window=8, lag=6), rows=160)
    assert abs(share - f) <= 0.03, share
    assert min(deltas.values()) == 0.0 and max(deltas.values()) > 0.5


def test_each_rows_delta_depends_on_the_input_order_only_not_on_the_order_of_completion():
    runs = [simulate(TargetBudget(0.3, 0.7, window=8, lag=6), rows=200, order_seed=s)[1] for s in (None, 1, 2)]
    assert runs[0] == runs[1] == runs[2]
    assert len(set(runs[0].values())) > 3  # it did move


def test_a_row_waits_for_the_windows_its_delta_comes_from():
    b = TargetBudget(0.3, 0.7, window=4, lag=2)
    assert all(b.ready(s) for s in range(8))  # windows 0 and 1: no feedback to wait for
    assert not b.ready(8)  # window 2 needs window 0
    for s in range(3):
        b.report(s, f"r{s}", [0.9], 0, 1)
    assert not b.ready(8)
    b.report(3, "r3", [0.1], 1, 1)
    b.report(3, "r3", [0.1], 1, 1)  # a re-sent state counts once
    assert b.ready(8) and not b.ready(16)  # window 4: max(4 - 2, 4 // 2) = 2 windows
    # window 2's delta is the offline rule on window 0's rewards, at the corrected aim: prefix
    # share 1/4 under 0.3, gain 4 rows / (lag 2 x window 4), aim 0.3 + 0.5 x 0.05 = 0.325
    rewards = [i / 40 for i in range(40)]  # 40 distinct rewards: aims 0.325 and 0.35 pick different ones
    b = TargetBudget(0.3, 0.7, window=4, lag=2)
    for s in range(4):
        b.report(s, f"r{s}", rewards[10 * s:10 * s + 10], 1 if s == 3 else 0, 1)
    assert b.delta(8) == pick_delta(rewards, 0.325) != pick_delta(rewards, 0.35)


def test_a_resumed_run_starts_from_the_rows_done_before():
    b = TargetBudget(0.3, start_delta=0.7, window=4, lag=2)
    rewards = [i / 40 for i in range(40)]
    b.seed(rewards, target_steps=1, all_steps=4, rows=8)  # 8 rows: full gain (lag 2 x window 4)
    assert b.delta(0) == pick_delta(rewards, 2 * 0.3 - 0.25) != pick_delta(rewards, 0.3)


def test_out_of_range_budgets_are_refused():
    with pytest.raises(ValueError, match="target_budget"):
        TargetBudget(1.5, 0.7)

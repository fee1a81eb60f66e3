"""Delta calibration to a target-call budget: pure selection on hand-made rewards."""

import random

import pytest

from rsd_ray.core.calibration import draft_rewards, estimated_share, pick_delta, share_curve
from rsd_ray.core.records import RequestInput, ScoreResult, StepResult
from rsd_ray.core.request import RequestState
from rsd_ray.core.stopping import StopRule
from rsd_ray.core.weighting import Weighting


def test_share_is_fraction_below_delta():
    r = [0.1, 0.5, 0.5, 0.9]
    assert estimated_share(r, 0.0) == 0
    assert estimated_share(r, 0.5) == 0.25  # r >= delta is accepted: the two 0.5s stay with the draft
    assert estimated_share(r, 0.51) == 0.75
    assert estimated_share(r, 1.0) == 1


@pytest.mark.parametrize("budget,delta", [(0.0, 0.1), (0.25, 0.5), (0.5, 0.5), (0.74, 0.5), (0.75, 0.9),
                                          (0.99, 0.9), (1.0, 1.0), (2.0, 1.0)])
def test_pick_largest_delta_within_budget(budget, delta):
    r = [0.9, 0.5, 0.1, 0.5]
    d = pick_delta(r, budget)
    assert d == delta
    assert estimated_share(r, d) <= budget


def test_pick_is_tight_on_random_rewards():
    rng = random.Random(0)
    r = [rng.random() for _ in range(1000)]
    for budget in (0.0, 0.05, 0.3, 0.7, 0.999):
        d = pick_delta(r, budget)
        assert estimated_share(r, d) <= budget
        # any larger delta would break the budget: the budget is spent, not left unused
        assert estimated_share(r, d + 1e-12) > budget
        assert abs(estimated_share(r, d) - budget) <= 1 / len(r)


def test_exact_budget_survives_float_rounding():
    r = [i / 10 for i in range(10)]
    assert estimated_share(r, pick_delta(r, 0.3)) == pytest.approx(0.3)


def test_bad_inputs():
    with pytest.raises(ValueError):
        pick_delta([], 0.3)
    with pytest.raises(ValueError):
        pick_delta([0.5], -0.1)
    with pytest.raises(ValueError):
        pick_delta([float("nan")], 0.3)


def test_curve():
    assert share_curve([0.2, 0.8], [0.0, 0.5, 1.0]) == [(0.0, 0.0), (0.5, 0.5), (1.0, 1.0)]


def test_draft_rewards_include_the_rejected_steps():
    s = RequestState(RequestInput("a", "1+1=?"), "rsd", Weighting("binary", 0.7), StopRule(100, 10, 50))
    s.on_draft(StepResult("a", "1+1=3", False, 5, 4))
    s.on_score(ScoreResult("a", (0.2,), 5))  # rejected: not in the output steps
    s.on_target(StepResult("a", "1+1=2", False, 5, 4))
    s.on_draft(StepResult("a", "\\boxed{2}", True, 5, 4))
    s.on_score(ScoreResult("a", (0.9, 0.95), 5))
    assert draft_rewards(s) == [0.2, 0.95]
    assert [st.reward for st in s.steps] == [None, 0.95]
    assert s.counters.steps_draft_rejected == 1 and s.counters.steps_target == 1

"""A call's own temperature (the sampling baselines) on a greedy engine; speculative calls are refused."""

import pytest
import torch

from rsd_ray.config import load_config
from rsd_ray.core.records import StepCall
from rsd_ray.models.roles import build_generator
from rsd_ray.zoo.task import make_problems

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def draft():
    return build_generator(load_config(), "draft")


def solve(engine, calls):
    out = engine.generate_steps(calls)
    engine.release([c.request_id for c in calls])
    return [r.text for r in out]


def test_sampled_calls_are_reproducible_and_greedy_rows_in_the_batch_stay_greedy(draft):
    ps = make_problems(6, seed=7)
    greedy = solve(draft, [StepCall(f"g{i}", p.problem, (), 40, 0, 0) for i, p in enumerate(ps)])
    mixed = [StepCall(f"g{i}", p.problem, (), 40, 0, 0, temperature=None if i % 2 else 1.5) for i, p in enumerate(ps)]
    a, b = solve(draft, mixed), solve(draft, mixed)
    assert a == b  # per-call seeds: the same calls sample the same steps
    assert [a[i] for i in range(1, 6, 2)] == [greedy[i] for i in range(1, 6, 2)]
    seeds = [solve(draft, [StepCall("s", ps[0].problem, (), 40, k, 0, temperature=1.5)])[0] for k in range(8)]
    assert len(set(seeds)) > 1  # temperature 1.5 on a greedy engine really samples


def test_a_speculative_call_is_an_error_for_a_plain_engine(draft):
    (r,) = draft.generate_steps([StepCall("x", "1+1=?", (), 40, 0, 0, speculative=True)])
    assert r.error and "speculative" in r.error and r.finished

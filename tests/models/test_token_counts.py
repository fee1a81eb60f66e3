"""Counted tokens are the tokens each model really ran a forward pass over (the FLOPs count rests on it).

A forward pre-hook counts, per forward, the columns of the new tokens whose
attention mask is 1 (padding and finished rows are not a request's tokens);
the engines' own counts must equal it, on mixed batches (new and old requests,
long uncached segments that take the catch-up path) and call by call.
"""

import pytest

from rsd_ray.config import load_config
from rsd_ray.core.records import ScoreCall, StepCall
from rsd_ray.models.roles import build_generator, build_prm
from rsd_ray.zoo.task import make_problems


def count_fed(model) -> list[int]:
    fed = [0]

    def hook(_module, args, kwargs):
        ids, mask = kwargs["input_ids"], kwargs["attention_mask"]
        fed[0] += int(mask[:, -ids.shape[1]:].sum())
    model.register_forward_pre_hook(hook, with_kwargs=True)
    return fed


@pytest.mark.parametrize("role", ["draft", "target"])
def test_a_mixed_batch_counts_what_it_fed(role):
    g = build_generator(load_config(), role)
    fed = count_fed(g.model)
    ps = make_problems(6, seed=11)
    # three requests seen before (one step cached), three new; then the old ones arrive with two more
    # steps another model wrote (a long uncached segment: the catch-up path) and the new ones bare
    first = g.generate_steps([StepCall(f"r{i}", p.problem, (), 24, 0, 0) for i, p in enumerate(ps[:3])])
    assert fed[0] == sum(r.processed_tokens for r in first)
    other = ("12+34=46", "46-5=41", "41+7=48", "48-9=39", "39+11=50", "50-3=47", "47+8=55", "55-6=49")
    calls = [StepCall(f"r{i}", p.problem, (first[i].text, *other), 24, 0, 1 + len(other))
             for i, p in enumerate(ps[:3])]
    calls += [StepCall(f"r{i}", p.problem, (), 24, 0, 0) for i, p in enumerate(ps[3:], 3)]
    before = fed[0]
    results = g.generate_steps(calls)
    assert fed[0] - before == sum(r.processed_tokens for r in results)
    assert all(r.fed_tokens == r.prefill_tokens + r.new_tokens - 1 for r in results)
    # call by call, one request: each count is its own
    for k in range(3):
        before = fed[0]
        r = g.generate_steps([StepCall("solo", ps[0].problem, tuple(x.text for x in results[:k]), 24, 0, k)])[0]
        assert fed[0] - before == r.processed_tokens


def test_the_prm_counts_what_it_fed():
    prm = build_prm(load_config())
    fed = count_fed(prm.model)
    ps = make_problems(4, seed=12)
    calls = [ScoreCall(f"p{i}", p.problem, ("1+2=3",) * (i + 1)) for i, p in enumerate(ps)]
    results = prm.score(calls)
    assert fed[0] == sum(r.tokens for r in results)
    before = fed[0]
    results = prm.score([ScoreCall(c.request_id, c.problem, c.steps + ("3+4=7",)) for c in calls])
    assert fed[0] - before == sum(r.tokens for r in results)

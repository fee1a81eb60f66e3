"""The per-request state machine, driven by hand-made steps and rewards."""

import pytest

from rsd_ray.core.records import RequestInput, ScoreResult, StepResult
from rsd_ray.core.request import RequestState
from rsd_ray.core.stopping import StopRule
from rsd_ray.core.weighting import Weighting


def state(mode="rsd", **stop):
    return RequestState(RequestInput("r1", "1+2=?"), mode, Weighting("binary", 0.7), StopRule(**stop))


def step(text, finished=False, new=4, prefill=3):
    return StepResult("r1", text, finished, new, prefill)


def score(r, tokens=5):
    return ScoreResult("r1", (0.1, r), tokens)


def test_accepted_draft_step_is_taken_with_its_reward():
    s = state()
    assert s.need == "draft"
    s.on_draft(step("1+2=3"))
    assert s.need == "prm"
    assert s.score_call().steps == ("1+2=3",)
    s.on_score(score(0.9))
    assert [(x.text, x.source, x.reward) for x in s.steps] == [("1+2=3", "draft", 0.9)]
    assert s.need == "draft"
    c = s.counters
    assert (c.steps_draft_accepted, c.steps_draft_rejected, c.tokens_draft, c.tokens_prm) == (1, 0, 7, 5)


def test_rejected_draft_step_goes_to_the_target_and_is_discarded():
    s = state()
    s.on_draft(step("1+2=4", new=6))
    s.on_score(score(0.2))
    assert s.steps == [] and s.need == "target"
    assert s.step_call().steps == ()  # the target continues from the same prefix
    s.on_target(step("1+2=3", new=5, prefill=9))
    assert [(x.text, x.source, x.reward) for x in s.steps] == [("1+2=3", "target", None)]
    assert s.need == "draft"
    c = s.counters
    assert (c.steps_draft_rejected, c.steps_target, c.tokens_draft_discarded, c.tokens_target) == (1, 1, 6, 14)


def test_eos_step_finishes_the_request():
    s = state()
    s.on_draft(step("\\boxed{3}", finished=True))
    s.on_score(score(0.95))
    assert s.done and s.finish_reason == "eos" and s.need is None
    assert s.response == "\\boxed{3}"


def test_a_rejected_final_step_does_not_finish():
    s = state()
    s.on_draft(step("\\boxed{4}", finished=True))
    s.on_score(score(0.1))
    assert not s.done and s.need == "target"


@pytest.mark.parametrize("mode", ["draft", "target"])
def test_single_model_modes_take_every_step_from_that_model(mode):
    s = state(mode)
    for i in range(3):
        assert s.need == mode
        (s.on_draft if mode == "draft" else s.on_target)(step(f"s{i}", finished=i == 2))
    assert s.response == "s0\n\ns1\n\ns2" and {x.source for x in s.steps} == {mode}


def test_token_and_step_budgets():
    s = state(max_new_tokens=10, max_steps=5)
    s.on_draft(step("a", new=6))
    s.on_score(score(0.9))
    assert s.step_call().max_tokens == 4  # what is left of the budget
    s.on_draft(step("b", new=4))
    s.on_score(score(0.9))
    assert s.finish_reason == "length"
    s = state(max_steps=2)
    for t in "ab":
        s.on_draft(step(t))
        s.on_score(score(0.9))
    assert s.finish_reason == "max_steps"


def test_engine_error_fails_the_request_with_the_role():
    s = state()
    s.on_draft(StepResult("r1", "", True, 0, 0, error="prompt too long"))
    assert s.done and s.error == "draft: prompt too long"

"""Sampling baselines (majority, best_of_n) and sd as states, on hand-made steps and rewards."""

import math

import pytest

from rsd_ray.config import ConfigError, load_config
from rsd_ray.core.records import RequestInput, ScoreResult, StepResult
from rsd_ray.core.request import RequestState
from rsd_ray.core.samples import (SampleState, aggregate, answer_key, best_of, merge, pick_best, pick_majority,
                                  reduce_samples, spawn_samples, vote)
from rsd_ray.core.scheduler import drive
from rsd_ray.core.sd import SDState
from rsd_ray.core.stopping import StopRule
from rsd_ray.core.weighting import Weighting


def parent(id="p1", seed=10, **stop):
    return RequestState(RequestInput(id, "1+2=?", seed), "draft", Weighting(), StopRule(**stop))


# -- pure reducers ------------------------------------------------------------------
def test_answer_key_reads_the_last_box_without_blanks():
    assert answer_key("a\n\n\\boxed{1 2}\n\n\\boxed{ 3 }") == "3"
    assert answer_key("no answer here") is None
    assert answer_key("\\boxed{ }") is None


def test_vote_picks_the_first_sample_with_the_most_frequent_answer():
    assert vote(["3", "4", "4", None, "3", "4"]) == 1
    assert vote([None, "5", "6"]) == 1  # a tie: the answer seen first wins
    assert vote(["6", None, "5", "5"]) == 2
    assert vote([None, None]) == 0


def test_vote_counts_equal_values_as_one_answer_when_given_an_equivalence():
    from fractions import Fraction

    calls = []

    def same(a, b):
        calls.append((a, b))
        return Fraction(a) == Fraction(b)

    answers = ["3", "1/2", "0.5", "3", "2/4", None]
    assert vote(answers) == 0  # as texts: "3" twice beats every half once
    assert vote(answers, same) == 1  # as values: one half three times
    assert len(calls) <= 3 * 2  # each distinct text against the classes before it, at most


def test_aggregates():
    r = [0.9, 0.5, 0.8]
    assert aggregate(r, "last") == 0.8
    assert aggregate(r, "min") == 0.5
    assert aggregate(r, "prod") == pytest.approx(0.36)
    assert aggregate([0.7, None], "min") == 0.7  # unscored steps do not count
    assert aggregate([], "min") == -math.inf
    with pytest.raises(ValueError, match="aggregate"):
        aggregate(r, "mean")


def test_best_of_depends_on_the_aggregate():
    rewards = [[0.9, 0.2, 0.95], [0.6, 0.6, 0.6], [0.99, 0.99, 0.2]]
    assert best_of(rewards, "last") == 0
    assert best_of(rewards, "min") == 1
    assert best_of(rewards, "prod") == 1
    assert best_of([[0.5, 0.5, 0.5], [0.45, 0.99, 0.99]], "min") == 0
    assert best_of([[0.5, 0.5, 0.5], [0.45, 0.99, 0.99]], "prod") == 1
    assert best_of([[0.5], [0.5]], "last") == 0  # ties: the first
    assert best_of([[], [0.1]], "min") == 1


# -- sample states ------------------------------------------------------------------
def test_spawn_gives_n_children_with_their_own_ids_and_seeds():
    kids = spawn_samples(parent(), 3, scored=False, temperature=0.7)
    assert [k.request.id for k in kids] == ["p1#s0", "p1#s1", "p1#s2"]
    assert [k.request.seed for k in kids] == [10, 11, 12]
    assert all(k.parent.id == "p1" and k.step_call().temperature == 0.7 for k in kids)
    bad = parent()
    bad.fail("empty problem")
    (only,) = spawn_samples(bad, 3, scored=True, temperature=0.7)
    assert only.done and only.error == "empty problem"


def test_scored_sample_keeps_every_step_with_its_reward():
    (s,) = spawn_samples(parent(), 1, scored=True, temperature=1.0)
    assert s.need == "draft"
    s.on_draft(StepResult(s.request.id, "1+2=4", False, 5, 3))
    assert s.need == "prm" and s.score_call().steps == ("1+2=4",)
    s.on_score(ScoreResult(s.request.id, (0.05,), 7))
    assert [(x.text, x.source, x.reward) for x in s.steps] == [("1+2=4", "draft", 0.05)]  # kept, low reward
    s.on_draft(StepResult(s.request.id, "\\boxed{4}", True, 4, 0))
    s.on_score(ScoreResult(s.request.id, (0.05, 0.5), 2))
    c = s.counters
    assert s.done and s.finish_reason == "eos"
    assert (c.tokens_draft, c.tokens_prm, c.steps_draft_accepted, c.steps_draft_rejected) == (12, 9, 0, 0)


def test_unscored_sample_never_needs_the_prm():
    (s,) = spawn_samples(parent(), 1, scored=False, temperature=1.0)
    s.on_draft(StepResult(s.request.id, "x", False, 2, 2))
    assert s.need == "draft" and s.steps[0].reward is None


def finished_sample(k, texts, rewards=None, tokens=3, error=None):
    s = SampleState(RequestInput(f"p1#s{k}", "q", k), "draft", Weighting(), StopRule(), parent=RequestInput("p1", "q"),
                    index=k)
    for i, t in enumerate(texts):
        s.counters.tokens_draft += tokens + 1
        s._take(StepResult(s.request.id, t, i == len(texts) - 1, tokens, 1), "draft",
                rewards[i] if rewards else None)
    s.error = error
    return s


def test_merge_takes_the_picked_sample_and_every_samples_counters():
    samples = [finished_sample(0, ["a", "\\boxed{3}"]), finished_sample(1, ["b", "\\boxed{4}"]),
               finished_sample(2, ["c", "\\boxed{4}"])]
    out = merge(RequestInput("p1", "q"), list(reversed(samples)), pick_majority())
    assert out.request.id == "p1" and out.response == "b\n\n\\boxed{4}" and out.finish_reason == "eos"
    assert out.counters.tokens_draft == 3 * 2 * 4
    assert out.counters.tokens_draft_discarded == 2 * 2 * 3  # generated tokens of the two samples not picked


def test_merge_skips_failed_samples_and_fails_only_when_all_did():
    ok = finished_sample(1, ["\\boxed{1}"], [0.2])
    bad = finished_sample(0, [], error="draft: context full")
    out = merge(RequestInput("p1", "q"), [bad, ok], pick_best("min"))
    assert out.error is None and out.response == "\\boxed{1}"
    out = merge(RequestInput("p1", "q"), [bad], pick_best("min"))
    assert out.error == "draft: context full"


def test_reduce_groups_samples_by_parent_in_first_seen_order():
    a = [finished_sample(k, [f"\\boxed{{{k}}}"], [r]) for k, r in enumerate([0.3, 0.9, 0.5])]
    b = [finished_sample(k, ["\\boxed{7}"], [0.1]) for k in range(2)]
    for s in b:
        s.parent = RequestInput("p2", "q")
    plain = parent("p3")
    out = reduce_samples([b[1], a[2], plain, a[0], b[0], a[1]], pick_best("last"))
    assert [s.request.id for s in out] == ["p2", "p1", "p3"]
    assert out[1].response == "\\boxed{1}" and out[1].steps[0].reward == 0.9


def test_samples_run_under_the_scheduler_and_vote():
    answers = {"p1#s0": "5", "p1#s1": "6", "p1#s2": "6", "p1#s3": None}

    def draft(calls):
        assert all(c.temperature == 0.9 for c in calls)
        return [StepResult(c.request_id, f"\\boxed{{{answers[c.request_id]}}}" if answers[c.request_id] else "?",
                           True, 2, 1) for c in calls]

    released = []
    kids = spawn_samples(parent(), 4, scored=False, temperature=0.9)
    done = list(drive(kids, 2, draft=draft, release=released.extend))
    (out,) = reduce_samples(done, pick_majority())
    assert out.response == "\\boxed{6}" and sorted(released) == sorted(answers)


# -- sd --------------------------------------------------------------------------------
def test_sd_state_asks_once_for_the_whole_solution_and_splits_it():
    s = SDState(RequestInput("r", "q"), "target", Weighting(), StopRule(max_new_tokens=300))
    assert s.need == "target"
    call = s.step_call()
    assert call.speculative and call.max_tokens == 300 and s.step_calls() == [call]
    s.on_targets([StepResult("r", "1+2=3\n\n3+4=7\n\n\\boxed{7}", True, 25, 12, draft_tokens=40,
                             draft_discarded=9)])
    assert s.done and s.finish_reason == "eos"
    assert [(x.text, x.source, x.reward) for x in s.steps] == [("1+2=3", "target", None), ("3+4=7", "target", None),
                                                              ("\\boxed{7}", "target", None)]
    assert sum(x.tokens for x in s.steps) == 25
    c = s.counters
    assert (c.tokens_target, c.tokens_draft, c.tokens_draft_discarded, c.steps_target) == (37, 40, 9, 3)


def test_sd_state_applies_the_step_budget_and_reports_errors():
    s = SDState(RequestInput("r", "q"), "target", Weighting(), StopRule(max_steps=2))
    s.on_target(StepResult("r", "a\n\nb\n\nc", False, 10, 5))
    assert [x.text for x in s.steps] == ["a", "b"] and s.finish_reason == "max_steps"
    s = SDState(RequestInput("r", "q"), "target", Weighting(), StopRule())
    s.on_target(StepResult("r", "a\n\nb", False, 10, 5))
    assert s.finish_reason == "length"
    s = SDState(RequestInput("r", "q"), "target", Weighting(), StopRule())
    s.on_target(StepResult("r", "", True, 0, 0, error="prompt too long"))
    assert s.done and s.error == "sd: prompt too long"


# -- config ----------------------------------------------------------------------------
def test_baseline_config_validates():
    cfg = load_config(overrides=["baselines.n=3", "baselines.aggregate=prod", "baselines.beam_width=2"])
    assert (cfg.baselines.n, cfg.baselines.aggregate, cfg.baselines.beam_width) == (3, "prod", 2)
    with pytest.raises(ConfigError, match="baselines.n must be >= 1"):
        load_config(overrides=["baselines.n=0"])
    with pytest.raises(ConfigError, match="baselines.aggregate must be one of"):
        load_config(overrides=["baselines.aggregate=mean"])
    with pytest.raises(ConfigError, match="baselines.temperature must be > 0"):
        load_config(overrides=["baselines.temperature=0"])
    with pytest.raises(ConfigError, match="beam_expansions"):
        load_config(overrides=["baselines.beam_expansions=0"])


# -- the unchanged Ray coordinator's single-call protocol ---------------------------------
def single_call_loop(states, draft, prm, target):
    """What actors/coordinator.py does today: step_call / score_call and on_draft / on_score / on_target."""
    live = list(states)
    while live:
        for s in live:
            role = s.need
            if role == "prm":
                s.on_score(prm([s.score_call()])[0])
            else:
                (s.on_draft if role == "draft" else s.on_target)((draft if role == "draft" else target)([s.step_call()])[0])
        live = [s for s in live if not s.done]


def test_samples_and_sd_work_under_the_single_call_protocol():
    def draft(calls):
        return [StepResult(c.request_id, "x" if c.step_index == 0 else "\\boxed{1}", c.step_index == 1, 2, 1)
                for c in calls]

    def prm(calls):
        return [ScoreResult(c.request_id, (0.5,) * len(c.steps), 3) for c in calls]

    def target(calls):
        assert all(c.speculative for c in calls)
        return [StepResult(c.request_id, "y\n\n\\boxed{2}", True, 6, 4, draft_tokens=9) for c in calls]

    kids = spawn_samples(parent(), 3, scored=True, temperature=0.7)
    sd = SDState(RequestInput("r", "q"), "target", Weighting(), StopRule())
    single_call_loop(kids + [sd], draft, prm, target)
    (out,) = reduce_samples(kids, pick_best("prod"))
    assert out.response == "x\n\n\\boxed{1}" and [x.reward for x in out.steps] == [0.5, 0.5]
    assert out.counters.tokens_prm == 3 * 2 * 3
    assert sd.response == "y\n\n\\boxed{2}" and sd.counters.tokens_draft == 9

"""Step-level beam search as a state, with scripted draft and PRM engines; the multi-call scheduler."""

import pytest

from rsd_ray.core.beam import Beam, BeamState, select
from rsd_ray.core.records import RequestInput, ScoreResult, Step, StepResult
from rsd_ray.core.request import RequestState
from rsd_ray.core.scheduler import drive
from rsd_ray.core.stopping import StopRule
from rsd_ray.core.weighting import Weighting


def beam(width=2, expansions=3, how="min", **stop):
    return BeamState(RequestInput("r", "q", 5), "draft", Weighting(), StopRule(**stop), width=width,
                     expansions=expansions, how=how, temperature=0.8)


def b(*rewards, reason=None):
    return Beam(tuple(Step(f"s{i}", "draft", r, 2) for i, r in enumerate(rewards)), reason)


def test_select_keeps_the_best_by_aggregate_stably():
    cands = [b(0.9, 0.1), b(0.5, 0.5), b(0.2, 0.95), b(0.5, 0.5)]
    assert select(cands, 2, "min") == [cands[1], cands[3]]
    assert select(cands, 1, "last") == [cands[2]]
    assert select(cands, 2, "prod") == [cands[1], cands[3]]


# Scripted world: a proposal's text is "<call id>.<step index>"; its reward is read from a table
# by (step index, expansion slot of the call in this turn), so the test controls who survives.
def scripted(rewards, finish_at):
    seen_calls = []

    def draft(calls):
        seen_calls.append(list(calls))
        return [StepResult(c.request_id, f"{c.request_id}.{c.step_index}", c.step_index + 1 >= finish_at, 3, 2)
                for c in calls]

    def prm(calls):
        return [ScoreResult(c.request_id, tuple(rewards(len(c.steps) - 1, c.steps[-1]) for _ in c.steps), 4)
                for c in calls]

    return draft, prm, seen_calls


def test_each_turn_every_live_beam_proposes_expansions_and_the_best_survive():
    s = beam(width=2, expansions=3, max_steps=10)
    calls = s.step_calls()
    assert len(calls) == 6 and s.step_calls() == calls  # computed once per turn
    assert [c.request_id for c in calls][::3] == ["r#b0", "r#b1"]  # each beam's first proposal on its own id
    assert len({c.request_id for c in calls}) == 6 and all(c.temperature == 0.8 and c.seed == 5 for c in calls)
    s.on_drafts([StepResult(c.request_id, f"t{i}", False, 3, 2) for i, c in enumerate(calls)])
    assert s.need == "prm"
    scores = s.score_calls()
    assert [sc.steps for sc in scores] == [(f"t{i}",) for i in range(6)]
    s.on_scores([ScoreResult(sc.request_id, (r,), 4) for sc, r in zip(scores, [0.1, 0.8, 0.3, 0.9, 0.2, 0.8])])
    assert [x.steps[-1].text for x in s.live] == ["t3", "t1"]  # top 2; tie 0.8 vs 0.8 keeps the earlier
    assert s.need == "draft"
    nxt = s.step_calls()
    # the survivors continue on the ids that hold their prefix; the other proposals reuse free ids
    assert [c.request_id for c in nxt][::3] == [calls[3].request_id, calls[1].request_id]
    assert {c.request_id for c in nxt} == {c.request_id for c in calls}
    assert nxt[0].steps == ("t3",) and nxt[3].steps == ("t1",) and nxt[0].step_index == 1


def test_beam_search_returns_the_best_finished_beam():
    # step 0: the proposal made on id r#b4 is best; step 1: every proposal scores 0.95, so min keeps that line
    def reward(index, text):
        return {0: 0.9 if text.startswith("r#b4") else 0.5}.get(index, 0.95 if text.endswith(".1") else 0.1)

    draft, prm, seen = scripted(reward, finish_at=2)
    s = beam(width=2, expansions=3)
    released = []
    (out,) = drive([s], 4, draft=draft, prm=prm, release=released.extend)
    assert out.done and out.finish_reason == "eos" and len(out.steps) == 2
    assert out.steps[0].text.startswith("r#b4") and out.steps[1].reward == 0.95
    assert all(x.source == "draft" and x.reward is not None for x in out.steps)
    assert sorted(released) == sorted(out.release_ids()) and len(released) <= 2 * 3
    c = out.counters
    proposals = sum(len(x) for x in seen)
    assert proposals == 12  # two turns of width x expansions
    assert (c.tokens_draft, c.tokens_prm) == (proposals * 5, proposals * 4)
    assert c.tokens_draft_discarded == proposals * 3 - 2 * 3


def test_beam_stops_when_width_beams_finished_and_respects_the_step_budget():
    draft, prm, _ = scripted(lambda i, t: 0.5, finish_at=1)  # every proposal finishes at once
    (out,) = drive([beam(width=2, expansions=2)], 4, draft=draft, prm=prm)
    assert len(out.steps) == 1 and out.finish_reason == "eos"
    draft, prm, _ = scripted(lambda i, t: 0.5, finish_at=99)
    (out,) = drive([beam(width=2, expansions=2, max_steps=3)], 4, draft=draft, prm=prm)
    assert len(out.steps) == 3 and out.finish_reason == "max_steps"


def test_beam_fails_on_an_engine_error():
    s = beam()
    calls = s.step_calls()
    s.on_drafts([StepResult(c.request_id, "", True, 0, 0, error="too long") for c in calls])
    assert s.done and s.error == "draft: too long"


def test_beam_rejects_bad_settings():
    with pytest.raises(ValueError, match="aggregate"):
        beam(how="mean")
    with pytest.raises(ValueError, match="width"):
        beam(width=0)


def test_drive_chunks_many_calls_and_hands_each_state_its_results():
    sizes = []

    def draft(calls):
        sizes.append(len(calls))
        return [StepResult(c.request_id, f"{c.request_id}.{c.step_index}", True, 1, 1) for c in calls]

    def prm(calls):
        return [ScoreResult(c.request_id, (0.5,) * len(c.steps), 1) for c in calls]

    plain = RequestState(RequestInput("x", "q"), "draft", Weighting(), StopRule())
    beams = [BeamState(RequestInput(f"b{i}", "q"), "draft", Weighting(), StopRule(), width=2, expansions=2)
             for i in range(2)]
    done = list(drive([beams[0], plain, beams[1]], 3, draft=draft, prm=prm))
    assert max(sizes) <= 3 and sum(sizes) == 2 * 4 + 1
    for s in done:
        assert s.steps[0].text.startswith(s.request.id + ("#" if s is not plain else ""))

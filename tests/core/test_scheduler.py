"""Continuous batching in the synchronous scheduler, with scripted engines."""

from rsd_ray.core.records import RequestInput, ScoreResult, StepResult
from rsd_ray.core.request import RequestState
from rsd_ray.core.scheduler import drive
from rsd_ray.core.stopping import StopRule
from rsd_ray.core.weighting import Weighting


def make(n, steps_each):
    return [RequestState(RequestInput(f"r{i}", "p"), "rsd", Weighting(), StopRule(max_steps=steps_each[i]))
            for i in range(n)]


def test_requests_join_and_leave_step_by_step():
    batches = []

    def draft(calls):
        batches.append([c.request_id for c in calls])
        return [StepResult(c.request_id, f"d{len(c.steps)}", False, 1, 1) for c in calls]

    def prm(calls):
        # every other step rejected, by step count
        return [ScoreResult(c.request_id, (0.9 if len(c.steps) % 2 else 0.1,), 1) for c in calls]

    def target(calls):
        return [StepResult(c.request_id, f"t{len(c.steps)}", False, 1, 1) for c in calls]

    released = []
    states = make(5, [1, 3, 2, 4, 1])
    done = list(drive(states, 2, draft=draft, target=target, prm=prm, release=released.extend))
    assert sorted(s.request.id for s in done) == [f"r{i}" for i in range(5)]
    assert all(max(map(len, [b])) <= 2 for b in batches)  # never more than batch_size in flight
    assert sorted(released) == [f"r{i}" for i in range(5)]
    # r0 finishes after one step, so r2 joins while r1 is still running
    assert any("r1" in b and "r2" in b for b in batches)
    for s in done:
        assert [x.source for x in s.steps] == ["draft", "target", "draft", "target"][: s.stop.max_steps]


def test_failed_rows_pass_straight_through():
    s = make(1, [1])[0]
    s.fail("empty problem")
    assert list(drive([s], 4)) == [s]


def test_min_target_batch_gathers_rejected_requests_and_changes_no_result():
    import random

    def engines(target_batches):
        def draft(calls):
            return [StepResult(c.request_id, f"d{len(c.steps)}", False, 1, 1) for c in calls]

        def prm(calls):  # a request's own pseudo-random rewards: ~30% of steps rejected
            return [ScoreResult(c.request_id, (random.Random(f"{c.request_id}{len(c.steps)}").random() + 0.4,), 1)
                    for c in calls]

        def target(calls):
            target_batches.append(len(calls))
            return [StepResult(c.request_id, f"t{len(c.steps)}", False, 1, 1) for c in calls]
        return dict(draft=draft, prm=prm, target=target)

    steps = [3 + i % 7 for i in range(40)]
    every, gathered = [], []
    plain = {s.request.id: [x.text for x in s.steps] for s in drive(make(40, steps), 16, **engines(every))}
    grouped = {s.request.id: [x.text for x in s.steps]
               for s in drive(make(40, steps), 16, **engines(gathered), min_target_batch=6)}
    assert plain == grouped  # same steps for every request, only the batching differs
    assert sum(every) == sum(gathered)
    assert len(gathered) < len(every)
    # a call below the minimum happens only when nothing else could move (the tail)
    assert sum(b < 6 for b in gathered) <= 3


def test_parked_requests_free_their_place_for_others_up_to_max_in_flight():
    import random

    calls = {"draft": [], "prm": [], "target": []}
    live: set[str] = set()
    most = [0]

    def draft(cs):
        calls["draft"].append(len(cs))
        live.update(c.request_id for c in cs)
        most[0] = max(most[0], len(live))
        return [StepResult(c.request_id, f"d{len(c.steps)}", False, 1, 1) for c in cs]

    def prm(cs):
        calls["prm"].append(len(cs))
        return [ScoreResult(c.request_id, (random.Random(f"{c.request_id}{len(c.steps)}").random() + 0.4,), 1)
                for c in cs]

    def target(cs):
        calls["target"].append(len(cs))
        return [StepResult(c.request_id, f"t{len(c.steps)}", False, 1, 1) for c in cs]

    steps = [3 + i % 7 for i in range(60)]
    held = {s.request.id: [x.text for x in s.steps]
            for s in drive(make(60, steps), 8, draft=draft, prm=prm, target=target, min_target_batch=6)}
    base = {k: list(v) for k, v in calls.items()}
    for v in calls.values():
        v.clear()
    live.clear()
    most[0] = 0
    freed = {s.request.id: [x.text for x in s.steps]
             for s in drive(make(60, steps), 8, draft=draft, prm=prm, target=target, min_target_batch=6,
                            max_in_flight=14, release=live.difference_update)}
    assert freed == held  # same steps for every request
    assert max(max(v) for v in calls.values()) <= 8  # no engine call over batch_size
    assert 8 < most[0] <= 14  # more than a batch in flight, never over the cap
    # parked requests no longer shrink the draft's calls: fewer, fuller ones
    assert len(calls["draft"]) < len(base["draft"])
    assert sum(calls["draft"]) / len(calls["draft"]) > sum(base["draft"]) / len(base["draft"])


def _scripted(log, reject_share=0.4):
    """Engines that log (role, request ids) per call; a request's own pseudo-random rewards."""
    import random

    def draft(cs):
        log.append(("draft", [c.request_id for c in cs]))
        return [StepResult(c.request_id, f"d{len(c.steps)}", False, 1, 1) for c in cs]

    def prm(cs):
        log.append(("prm", [c.request_id for c in cs]))
        return [ScoreResult(c.request_id, (random.Random(f"{c.request_id}{len(c.steps)}").random() + reject_share,), 1)
                for c in cs]

    def target(cs):
        log.append(("target", [c.request_id for c in cs]))
        return [StepResult(c.request_id, f"t{len(c.steps)}", False, 1, 1) for c in cs]
    return dict(draft=draft, prm=prm, target=target)


def test_lockstep_runs_static_batches_in_rounds_and_changes_no_result():
    steps = [2 + i % 5 for i in range(20)]
    cont_log, lock_log = [], []
    cont = {s.request.id: [x.text for x in s.steps]
            for s in drive(make(20, steps), 8, **_scripted(cont_log), min_target_batch=4)}
    # a gather size is ignored under lock-step: the target is called every round
    lock = {s.request.id: [x.text for x in s.steps]
            for s in drive(make(20, steps), 8, **_scripted(lock_log), min_target_batch=4, lockstep=True)}
    assert lock == cont  # the schedule decides only how calls are batched
    batch_of = {f"r{i}": i // 8 for i in range(20)}  # static batches of 8, in arrival order
    for role, ids in lock_log:
        assert len({batch_of[i] for i in ids}) == 1, (role, ids)  # no call mixes two batches
    # each round: a draft step for every unfinished request, the PRM for all of them, the target (if any
    # was rejected) for some of those, in this round: nobody waits for a fuller target call
    rounds = [i for i, (role, _) in enumerate(lock_log) if role == "draft"]
    for a, b in zip(rounds, rounds[1:] + [len(lock_log)]):
        calls = lock_log[a:b]
        assert [r for r, _ in calls] in (["draft", "prm"], ["draft", "prm", "target"]), calls
        assert calls[1][1] == calls[0][1]
        if len(calls) == 3:
            assert set(calls[2][1]) <= set(calls[1][1])
    target_items = lambda log: sum(len(ids) for role, ids in log if role == "target")  # noqa: E731
    assert target_items(lock_log) == target_items(cont_log)
    assert any(role == "target" and len(ids) < 4 for role, ids in lock_log)  # not gathered


def test_a_round_never_splits_off_a_small_call():
    # 8 per call; the target gathers a full call: whoever does not fit waits a round, no call of the rest
    log = []
    steps = [3 + i % 7 for i in range(60)]
    done = {s.request.id: [x.text for x in s.steps]
            for s in drive(make(60, steps), 8, **_scripted(log), min_target_batch=8, max_in_flight=16)}
    plain = {s.request.id: [x.text for x in s.steps] for s in drive(make(60, steps), 8, **_scripted([]))}
    assert done == plain
    target = [len(ids) for role, ids in log if role == "target"]
    assert all(n <= 8 for _, ids in log for n in [len(ids)])
    assert sum(n < 8 for n in target) <= 2, target  # only the tail: nothing else could move

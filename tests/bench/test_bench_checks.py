"""When the bench refuses: errors, repetitions that disagree, an accuracy gap (hand-made runs)."""

from rsd_ray.jobs.bench_checks import accuracy_gap, errors, inconsistent, schedules_differ


def run(steps=10, errors=0, tokens_target=50, answer="4"):
    return {"steps": steps, "errors": errors, "steps_draft_accepted": 0, "steps_draft_rejected": 0,
            "steps_target": steps, "tokens_draft": 0, "tokens_target": tokens_target, "tokens_prm": 0,
            "responses": {"a": answer}}


def test_clean_runs_pass():
    runs = {"target": [run(), run()], "rsd": [run(), run()]}
    assert errors(runs) is None and inconsistent(runs) is None


def test_an_error_in_any_repetition_refuses():
    reason = errors({"target": [run(), run()], "rsd": [run(), run(errors=2)]})
    assert reason is not None and "rsd: 2" in reason


def test_repetitions_must_agree_on_steps_tokens_and_answers():
    assert "steps differ" in inconsistent({"target": [run(steps=10), run(steps=11)]})
    assert "tokens_target differ" in inconsistent({"target": [run(), run(), run(tokens_target=51)]})
    assert "responses differ" in inconsistent({"rsd": [run(answer="4"), run(answer="5")]})


def test_lockstep_must_answer_as_continuous_rsd():
    assert schedules_differ({"rsd": [run(answer="4")], "lockstep": [run(answer="4")]}) is None
    assert "lock-step" in schedules_differ({"rsd": [run(answer="4")], "lockstep": [run(answer="5")]})


def test_accuracy_gap_of_more_than_two_points_refuses():
    assert accuracy_gap({"target": 0.99, "rsd": 0.97}) is None  # exactly 2 points: allowed
    assert accuracy_gap({"target": 0.99, "rsd": 1.0}) is None
    reason = accuracy_gap({"target": 0.99, "rsd": 0.965})
    assert reason is not None and "2.5 points" in reason
    assert accuracy_gap({"target": None, "rsd": 0.5}) is not None

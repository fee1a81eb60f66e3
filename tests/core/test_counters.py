"""What each event a state observes adds to its counters (written once, in core/stats.py)."""

from rsd_ray.core.records import ScoreResult, StepResult
from rsd_ray.core.stats import Counters

STEP = StepResult("r", "x", False, new_tokens=5, prefill_tokens=7, fed_tokens=11, draft_tokens=30,
                  draft_discarded=4)


def observed(**event) -> dict[str, int]:
    c = Counters()
    ((name, args),) = event.items()
    getattr(c, f"observe_{name}")(*args)
    return {k: v for k, v in c.as_dict().items() if v}


def test_each_event_adds_to_its_own_fields_only():
    assert observed(draft=(STEP,)) == {"tokens_draft": 11}  # what the call fed, not new + prefill
    assert observed(accepted=()) == {"steps_draft_accepted": 1}
    assert observed(rejected=(STEP,)) == {"steps_draft_rejected": 1, "tokens_draft_discarded": 5}
    assert observed(target=(STEP,)) == {"tokens_target": 11, "steps_target": 1}
    assert observed(score=(ScoreResult("r", (0.5, 0.9), 13),)) == {"tokens_prm": 13}
    assert observed(speculative=(STEP, 3)) == {"tokens_target": 11, "tokens_draft": 30,
                                                "tokens_draft_discarded": 4, "steps_target": 3}
    assert observed(discarded=(9,)) == {"tokens_draft_discarded": 9}

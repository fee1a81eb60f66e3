"""A request's committed progress as plain data, and a fresh state put back to it (the step journal).

A killed run loses the solutions in flight; on a long reasoning run that is
minutes of work per request. The runner journals each one's committed steps
as they land (runner/journal.py) and a resumed run continues from there. Only
a state between steps is captured: one with a step waiting for its reward
keeps its previous entry (the step is drafted again on resume, the same one
when greedy). Acceptance draws come from the request's own stream, so a
restored state draws once for each decision already taken (binary weighting
never draws). Counters are restored too; the engines prefill the restored
context again on resume, which the token counts then include.
"""

from __future__ import annotations

from dataclasses import asdict

from rsd_ray.core.records import Rejected, Step
from rsd_ray.core.request import RequestState
from rsd_ray.core.stats import Counters


def snapshot(s) -> dict | None:
    """The committed progress of a one-call-per-turn state between steps (None: nothing to keep)."""
    if type(s) is not RequestState or s.done or s._pending is not None or not (s.steps or s.rejected):
        return None
    return {"id": s.request.id, "steps": [[x.text, x.source, x.reward, x.tokens] for x in s.steps],
            "rejected": [[r.index, r.text, r.reward] for r in s.rejected], "counters": asdict(s.counters),
            "draft_turn": s._draft_turn}


def restore(s: RequestState, snap: dict) -> None:
    """Put a fresh state back where the snapshot left it."""
    s.steps = [Step(*x) for x in snap["steps"]]
    s.rejected = [Rejected(*x) for x in snap["rejected"]]
    s.counters = Counters(**snap["counters"])
    s._draft_turn = snap["draft_turn"]
    if not s.weighting.deterministic:
        for _ in range(s.counters.steps_draft_accepted + s.counters.steps_draft_rejected):
            s._rng.random()
    s.finish_reason = None

"""One role's engine call for several requests: their calls flattened, each request's results handed back.

A state may ask for several calls in one turn (beam search), so both schedulers
fill engine calls by calls, not by requests, and slice the results back in order.
"""

from __future__ import annotations

from rsd_ray.core.request import RequestState


def calls_of(role: str, states: list[RequestState]) -> list[list]:
    """Each state's calls for `role` this turn."""
    return [s.score_calls() if role == "prm" else s.step_calls() for s in states]


def deliver(role: str, states: list[RequestState], calls: list[list], results: list) -> None:
    """Hand each state its own slice of the flat results, in order."""
    at = 0
    for s, cs in zip(states, calls):
        mine, at = results[at:at + len(cs)], at + len(cs)
        {"draft": s.on_drafts, "target": s.on_targets, "prm": s.on_scores}[role](mine)

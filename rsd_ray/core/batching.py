"""One role's engine call for several requests: their calls flattened, each request's results handed back.

A state may ask for several calls in one turn (beam search), so both schedulers
fill engine calls by calls, not by requests, and slice the results back in order.
"""

from __future__ import annotations

from rsd_ray.core.request import RequestState


def calls_of(role: str, states: list[RequestState]) -> list[list]:
    """Each state's calls for `role` this turn."""
    return [s.score_calls() if role == "prm" else s.step_calls() for s in states]


def fill(role: str, states: list[RequestState], limit: int) -> tuple[list[RequestState], list[list]]:
    """The states, oldest first, whose calls fit one engine call of `limit` (at least one state), and
    their calls: the rest wait for the next call. Splitting instead would add a call of a few requests,
    which costs about as much as a full one (per-call overheads, one decode loop as long as its longest)."""
    taken, calls, n = [], [], 0
    for s in states:
        cs = calls_of(role, [s])[0]
        if taken and n + len(cs) > limit:
            break
        taken.append(s)
        calls.append(cs)
        n += len(cs)
    return taken, calls


def deliver(role: str, states: list[RequestState], calls: list[list], results: list) -> None:
    """Hand each state its own slice of the flat results, in order."""
    at = 0
    for s, cs in zip(states, calls):
        mine, at = results[at:at + len(cs)], at + len(cs)
        {"draft": s.on_drafts, "target": s.on_targets, "prm": s.on_scores}[role](mine)

"""One role's engine call for several requests: their calls flattened, each request's results handed back.

A state may ask for several calls in one turn (beam search), so both schedulers
fill engine calls by calls, not by requests, and slice the results back in order.
"""

from __future__ import annotations

from rsd_ray.core.request import TurnState


def calls_of(role: str, states: list[TurnState]) -> list[list]:
    """Each state's calls for `role` this turn."""
    return [s.score_calls() if role == "prm" else s.step_calls() for s in states]


def fill(role: str, states: list[TurnState], limit: int) -> tuple[list[TurnState], list[list]]:
    """The states that go in this round's call for `role`, oldest first, and their calls; the rest wait.

    States of one call each (rsd, target, draft: every mode but beam): the first `limit`. A
    round that split them into a full call and a call of the few left over would pay nearly a
    full call for those few (per-call overheads, one decode loop as long as its longest step);
    waiting a round costs them nothing. States asking several calls (a beam's candidates) all
    go, their calls chunked by the caller: they fill engine calls already, and holding some
    back would only reshuffle full calls (and the batches' padding, in the last bits of the
    logits a sampled beam draws from).
    """
    calls = calls_of(role, states)
    if any(len(cs) > 1 for cs in calls):
        return states, calls
    return states[:max(1, limit)], calls[:max(1, limit)]


def deliver(role: str, states: list[TurnState], calls: list[list], results: list) -> None:
    """Hand each state its own slice of the flat results, in order."""
    at = 0
    for s, cs in zip(states, calls):
        mine, at = results[at:at + len(cs)], at + len(cs)
        {"draft": s.on_drafts, "target": s.on_targets, "prm": s.on_scores}[role](mine)

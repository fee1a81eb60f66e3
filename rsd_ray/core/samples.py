"""Sampling baselines: N independent samples per problem, then one is picked.

    majority  (self-consistency): the samples vote with their final answers;
              the response is the first sample carrying the winning answer.
    best_of_n: every step of every sample is scored by the PRM (and always
              kept); the sample with the best aggregate reward is the response.

Each sample is an ordinary state (`SampleState`, id "<id>#s<k>", seed + k),
so every scheduler drives it unchanged; a pure reducer then turns a parent's
samples into the one state that is recorded. Counters add up over all samples
(every sample's tokens cost FLOPs); the generated tokens of the samples not
picked count as discarded.
"""

from __future__ import annotations

import math
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, get_args

from rsd_ray.core.records import RequestInput, ScoreResult, StepResult
from rsd_ray.core.request import RequestState, Role
from rsd_ray.core.stats import Counters
from rsd_ray.grading.extract import final_answer

Aggregate = Literal["last", "min", "prod"]
AGGREGATES: tuple[str, ...] = get_args(Aggregate)  # the one list: the config's baselines.aggregate is typed Aggregate


@dataclass
class SampleState(RequestState):
    """One sampled draft solution of a parent request; with `scored`, the PRM scores each step."""

    parent: RequestInput | None = None
    index: int = 0
    scored: bool = False

    @property
    def need(self) -> Role | None:
        if self.done:
            return None
        return "prm" if self._pending is not None else "draft"

    def on_draft(self, result: StepResult) -> None:
        if result.error:
            return self.fail(f"draft: {result.error}")
        self.counters.observe_draft(result)
        if self.scored:
            self._pending = result
        else:
            self._take(result, "draft", None)

    def on_score(self, result: ScoreResult) -> None:
        pending = self._scored(result)
        if pending is not None:
            self._take(pending, "draft", result.last)  # best-of-n keeps every step; the reward is recorded


def spawn_samples(state: RequestState, n: int, scored: bool, temperature: float) -> list[SampleState]:
    """The n samples of a parent state (a failed parent gives one failed sample, so it is still recorded)."""
    req = state.request
    out = []
    for k in range(n if not state.done else 1):
        s = SampleState(RequestInput(f"{req.id}#s{k}", req.problem, req.seed + k), "draft", state.weighting,
                        state.stop, delimiter=state.delimiter, temperature=temperature, parent=req, index=k,
                        scored=scored)
        s.error = state.error
        out.append(s)
    return out


# -- pure reducers ---------------------------------------------------------------
def answer_key(response: str) -> str | None:
    """The final answer as a vote: the last \\boxed{} (or ####), blank runs made one space; None without one.

    Blanks are not removed: "\\cdot x" must stay LaTeX for the equivalence check."""
    a = final_answer(response)
    if a is None:
        return None
    a = " ".join(a.split())
    return a or None


def vote(answers: list[str | None], same: Callable[[str, str], bool] | None = None) -> int:
    """Index of the first sample carrying the most frequent answer (ties: the answer seen first).

    Samples without an answer do not vote; when none has one, sample 0. With
    `same` (math equivalence, from the grader) answers that differ as text but
    agree as values ("1/2", "0.5") count as one: each distinct answer joins the
    first earlier class whose first answer it equals, so `same` is called once
    per pair of distinct texts at most.
    """
    tally = Tally(a for a in answers if a is not None)
    if not tally:
        return 0
    classes: list[list[str]] = []  # distinct answers in first-seen order, grouped by value
    for a in tally:
        home = next((c for c in classes if same is not None and same(c[0], a)), None)
        if home is None:
            classes.append([a])
        else:
            home.append(a)
    size = {a: sum(tally[b] for b in c) for c in classes for a in c}
    best = max(size.values())
    return next(i for i, a in enumerate(answers) if a is not None and size[a] == best)


def aggregate(rewards: Iterable[float | None], how: str) -> float:
    """One score for a solution from its step rewards; -inf with no scored step."""
    r = [x for x in rewards if x is not None]
    if not r:
        return -math.inf
    if how == "last":
        return r[-1]
    if how == "min":
        return min(r)
    if how == "prod":
        return math.prod(r)
    raise ValueError(f"aggregate must be one of {', '.join(AGGREGATES)}, got {how!r}")


def best_of(rewards: list[list[float | None]], how: str) -> int:
    """Index of the solution with the highest aggregate reward (ties: the first)."""
    scores = [aggregate(r, how) for r in rewards]
    return max(range(len(scores)), key=lambda i: (scores[i], -i))


def merge(parent: RequestInput, samples: list[SampleState], pick: Callable[[list[SampleState]], int]) -> RequestState:
    """One recorded state for a parent: the picked sample's steps, every sample's counters.

    Failed samples do not take part in the pick; the parent fails only when all did.
    """
    samples = sorted(samples, key=lambda s: s.index)
    ok = [s for s in samples if s.error is None]
    total = Counters()
    for s in samples:
        total += s.counters
    first = samples[0]
    out = RequestState(parent, "draft", first.weighting, first.stop, delimiter=first.delimiter)
    out.counters = total
    if not ok:
        out.error = first.error
        return out
    chosen = ok[pick(ok)]
    out.steps = list(chosen.steps)
    out.finish_reason = chosen.finish_reason
    total.observe_discarded(sum(st.tokens for s in samples if s is not chosen for st in s.steps))
    return out


def pick_majority(same: Callable[[str, str], bool] | None = None) -> Callable[[list[SampleState]], int]:
    return lambda samples: vote([answer_key(s.response) for s in samples], same)


def pick_best(how: str) -> Callable[[list[SampleState]], int]:
    return lambda samples: best_of([[st.reward for st in s.steps] for s in samples], how)


def reduce_samples(states: Iterable[RequestState], pick: Callable[[list[SampleState]], int]) -> list[RequestState]:
    """Group samples by parent (first-seen order) and merge each group; other states pass through."""
    groups: dict[str, list[SampleState]] = {}
    out: list[RequestState | str] = []
    for s in states:
        if isinstance(s, SampleState) and s.parent is not None:
            if s.parent.id not in groups:
                groups[s.parent.id] = []
                out.append(s.parent.id)
            groups[s.parent.id].append(s)
        else:
            out.append(s)
    return [merge(groups[o][0].parent, groups[o], pick) if isinstance(o, str) else o  # type: ignore[arg-type]
            for o in out]


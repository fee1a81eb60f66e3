"""Step-level beam search guided by the PRM, as one state with several calls per turn.

    turn: every live beam proposes `expansions` sampled draft steps (need "draft"),
          the PRM scores every proposal (need "prm"); each proposal becomes a beam;
          finished beams are set aside, the `width` best unfinished ones (by the
          aggregate of their step rewards) stay live.
    end:  no live beam is left, or `width` beams have finished; the best finished
          beam (same aggregate) is the response.

It starts with `width` empty beams, so the first turn proposes width x
expansions steps like every later one. Each call has its own request id
("<id>#b<k>") so that an engine's per-request cache follows one line of
steps: a beam's first proposal reuses the id that produced the beam (its
prefix is cached there), the others take ids not used this turn; at most
width x expansions ids per request, all released when it is done.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rsd_ray.core.records import ScoreCall, ScoreResult, Step, StepCall, StepResult
from rsd_ray.core.request import Role, TurnState
from rsd_ray.core.samples import AGGREGATES, aggregate


@dataclass(frozen=True)
class Beam:
    steps: tuple[Step, ...] = ()
    finish_reason: str | None = None
    home: str = ""  # the call id whose engine caches hold this beam's steps

    @property
    def tokens_used(self) -> int:
        return sum(s.tokens for s in self.steps)

    def score(self, how: str) -> float:
        return aggregate([s.reward for s in self.steps], how)


def select(candidates: list[Beam], width: int, how: str) -> list[Beam]:
    """The `width` best beams by aggregate reward; ties keep the earlier one (a stable sort)."""
    return sorted(candidates, key=lambda b: -b.score(how))[:width]


@dataclass
class BeamState(TurnState):
    width: int = 4
    expansions: int = 4
    how: str = "min"
    live: list[Beam] = field(default_factory=list)
    finished_beams: list[Beam] = field(default_factory=list)
    _calls: list[tuple[Beam, StepCall]] | None = None  # this turn's proposals, before the draft answered
    _drafts: list[tuple[Beam, StepCall, StepResult]] | None = None  # proposals waiting for their rewards
    _ids: list[str] = field(default_factory=list)  # every call id used, in order
    _generated: int = 0  # draft tokens generated over all proposals

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.width < 1 or self.expansions < 1:
            raise ValueError("beam width and expansions must be >= 1")
        if self.how not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {', '.join(AGGREGATES)}, got {self.how!r}")
        if not self.live and not self.finished_beams:
            self._ids = [f"{self.request.id}#b{k}" for k in range(self.width)]
            self.live = [Beam(home=i) for i in self._ids]

    @property
    def need(self) -> Role | None:
        if self.done:
            return None
        return "prm" if self._drafts is not None else "draft"

    def step_calls(self) -> list[StepCall]:
        if self._calls is None:  # computed once per turn: a retried call sends the same ids and seeds
            homes = {b.home for b in self.live}
            spare = iter([i for i in self._ids if i not in homes])  # a snapshot: _new_id appends
            calls = []
            for b in self.live:
                for e in range(self.expansions):
                    cid = b.home if e == 0 else next(spare, None) or self._new_id()
                    calls.append((b, StepCall(
                        cid, self.request.problem, tuple(s.text for s in b.steps),
                        self.stop.step_budget(b.tokens_used), self.request.seed, len(b.steps),
                        temperature=self.temperature)))
            self._calls = calls
        return [c for _, c in self._calls]

    def _new_id(self) -> str:
        self._ids.append(f"{self.request.id}#b{len(self._ids)}")
        return self._ids[-1]

    def on_drafts(self, results: list[StepResult]) -> None:
        assert self._calls is not None and len(results) == len(self._calls), "on_drafts without matching calls"
        calls, self._calls = self._calls, None
        for r in results:
            if r.error:
                return self.fail(f"draft: {r.error}")
            self.counters.observe_draft(r)
            self._generated += r.new_tokens
        self._drafts = [(b, c, r) for (b, c), r in zip(calls, results)]

    def score_calls(self) -> list[ScoreCall]:
        assert self._drafts is not None, "score_calls without proposals"
        return [ScoreCall(c.request_id, self.request.problem, c.steps + (r.text,)) for _, c, r in self._drafts]

    def on_scores(self, results: list[ScoreResult]) -> None:
        assert self._drafts is not None and len(results) == len(self._drafts), "on_scores without matching calls"
        drafts, self._drafts = self._drafts, None
        for s in results:
            if s.error:
                return self.fail(f"prm: {s.error}")
            self.counters.observe_score(s)
        open_beams = []
        for (b, c, r), s in zip(drafts, results):
            steps = b.steps + (Step(r.text, "draft", s.last, r.new_tokens),)
            reason = self.stop.reason(r.finished, sum(x.tokens for x in steps), len(steps))
            beam = Beam(steps, reason, c.request_id)
            (self.finished_beams if reason else open_beams).append(beam)
        self.live = select(open_beams, self.width, self.how)
        if not self.live or len(self.finished_beams) >= self.width:
            self._finish()

    def _finish(self) -> None:
        best = select(self.finished_beams, 1, self.how)[0]
        self.live = []
        self.steps = list(best.steps)
        # every proposal not on the answer's line was generated for nothing
        self.counters.observe_discarded(self._generated - best.tokens_used)
        self.finish_reason = best.finish_reason

    def release_ids(self) -> list[str]:
        return list(self._ids)

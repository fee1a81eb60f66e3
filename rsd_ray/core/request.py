"""The per-request state machine a scheduler drives, one step at a time.

    need "draft" --draft step--> need "score" --reward--> accept? --yes--> take draft step
                                                                  --no---> need "target" --> take target step

Modes: "rsd" runs the loop above; "draft" and "target" take every step from
that model alone (the baselines). The scheduler asks `need`, batches requests
that need the same role, and feeds results back; the state never calls a model.

The protocol a scheduler uses is the batched one, declared by `TurnState`
(`need`, `step_calls`, `score_calls`, `on_drafts`, `on_targets`, `on_scores`,
`release_ids`): a turn may need several calls. `RequestState` makes one call
per turn, so it alone has the single-call methods (`step_call`, `on_draft`,
...) and answers the batched ones with them; beam search (core/beam.py) makes
several and is a `TurnState` only. The other baselines are states on the same
protocol: core/samples.py (majority, best_of_n: N samples, then a pure
reducer) and core/sd.py.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Literal, get_args

from rsd_ray.core.records import Rejected, RequestInput, ScoreCall, ScoreResult, Step, StepCall, StepResult
from rsd_ray.core.stats import Counters
from rsd_ray.core.stopping import StopRule
from rsd_ray.core.text import DEFAULT_DELIMITER, join_steps
from rsd_ray.core.weighting import Weighting

Mode = Literal["rsd", "draft", "target"]
Role = Literal["draft", "prm", "target"]
REQUEST_MODES: tuple[str, ...] = get_args(Mode)  # which models a request uses (the runner's MODES table: jobs' modes)


@dataclass
class TurnState(ABC):
    """What every state shares, and the batched protocol a scheduler drives it by.

    A state implements the calls and results of the roles its `need` names; the
    others refuse (a scheduler only sends a state results for the role it needs).
    """

    request: RequestInput
    mode: Mode
    weighting: Weighting
    stop: StopRule
    steps: list[Step] = field(default_factory=list)
    counters: Counters = field(default_factory=Counters)
    finish_reason: str | None = None
    error: str | None = None
    delimiter: str = DEFAULT_DELIMITER
    temperature: float | None = None  # sampling temperature for its calls; None: each engine's own
    score_target: bool = False  # rsd: the PRM also scores each target step (synthetic step-pair data)
    rejected: list[Rejected] = field(default_factory=list)  # rsd: the draft steps the rule turned down
    seq: int = 0  # its row's place in this run's input order (the online budget's windows: core/budget.py)

    def __post_init__(self) -> None:
        if self.mode not in REQUEST_MODES:
            raise ValueError(f"mode must be one of {', '.join(REQUEST_MODES)}, got {self.mode!r}")

    # -- what to do next -------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.finish_reason is not None or self.error is not None

    @property
    @abstractmethod
    def need(self) -> Role | None:
        """The role its next calls go to; None once done."""

    @property
    def tokens_used(self) -> int:
        return sum(s.tokens for s in self.steps)

    # -- the batched protocol: this turn's calls, then their results, in call order --
    def step_calls(self) -> list[StepCall]:
        raise NotImplementedError(f"{type(self).__name__} makes no step calls")

    def score_calls(self) -> list[ScoreCall]:
        raise NotImplementedError(f"{type(self).__name__} makes no score calls")

    def on_drafts(self, results: list[StepResult]) -> None:
        raise NotImplementedError(f"{type(self).__name__} never needs the draft")

    def on_targets(self, results: list[StepResult]) -> None:
        raise NotImplementedError(f"{type(self).__name__} never needs the target")

    def on_scores(self, results: list[ScoreResult]) -> None:
        raise NotImplementedError(f"{type(self).__name__} never needs the prm")

    def release_ids(self) -> list[str]:
        """The request ids its calls used: what the engines may forget once it is done."""
        return [self.request.id]

    def fail(self, message: str) -> None:
        self.error = message

    @property
    def response(self) -> str:
        return join_steps([s.text for s in self.steps], self.delimiter)


@dataclass
class RequestState(TurnState):
    """One call per turn: rsd, and the draft and target baselines."""

    _pending_target: bool = False  # the pending step is the target's, waiting only for its reward
    _pending: StepResult | None = None  # the draft step waiting for its reward
    _draft_turn: bool = True  # rsd: False after a rejection, until the target's step lands
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        # Acceptance draws come from the request's own stream: reproducible
        # whatever the batching, the replica or the order of completion.
        self._rng = random.Random(f"{self.request.seed}:{self.request.id}")

    @property
    def need(self) -> Role | None:
        if self.done:
            return None
        if self.mode != "rsd":
            return self.mode
        if self._pending is not None:
            return "prm"
        return "draft" if self._draft_turn else "target"

    def step_call(self) -> StepCall:
        return StepCall(
            request_id=self.request.id, problem=self.request.problem,
            steps=tuple(s.text for s in self.steps), max_tokens=self.stop.step_budget(self.tokens_used),
            seed=self.request.seed, step_index=len(self.steps), temperature=self.temperature,
        )

    def score_call(self) -> ScoreCall:
        assert self._pending is not None, "score_call without a pending draft step"
        return ScoreCall(self.request.id, self.request.problem,
                         tuple(s.text for s in self.steps) + (self._pending.text,))

    # -- results coming back ---------------------------------------------------
    def on_draft(self, result: StepResult) -> None:
        if result.error:
            return self.fail(f"draft: {result.error}")
        self.counters.observe_draft(result)
        if self.mode == "draft":
            self._take(result, "draft", None)
        else:
            self._pending = result

    def on_score(self, result: ScoreResult) -> None:
        pending = self._scored(result)
        if pending is None:
            return
        if self._pending_target:  # a target step: scored for the record, taken whatever its reward
            self._pending_target = False
            return self._take(pending, "target", result.last)
        if self.weighting.accept(result.last, self._rng):
            self.counters.observe_accepted()
            self._take(pending, "draft", result.last)
        else:
            self.counters.observe_rejected(pending)
            self.rejected.append(Rejected(len(self.steps), pending.text, result.last))
            self._draft_turn = False

    def on_target(self, result: StepResult) -> None:
        if result.error:
            return self.fail(f"target: {result.error}")
        self.counters.observe_target(result)
        self._draft_turn = True
        if self.score_target and self.mode == "rsd":
            self._pending, self._pending_target = result, True
        else:
            self._take(result, "target", None)

    def _scored(self, result: ScoreResult) -> StepResult | None:
        """The pending step once its reward is in (PRM tokens counted); None if the PRM failed."""
        assert self._pending is not None, "on_score without a pending step"
        if result.error:
            self.fail(f"prm: {result.error}")
            return None
        self.counters.observe_score(result)
        pending, self._pending = self._pending, None
        return pending

    # -- the batched protocol, answered with the single-call methods: one call per turn --
    def step_calls(self) -> list[StepCall]:
        return [self.step_call()]

    def score_calls(self) -> list[ScoreCall]:
        return [self.score_call()]

    def on_drafts(self, results: list[StepResult]) -> None:
        (result,) = results
        self.on_draft(result)

    def on_targets(self, results: list[StepResult]) -> None:
        (result,) = results
        self.on_target(result)

    def on_scores(self, results: list[ScoreResult]) -> None:
        (result,) = results
        self.on_score(result)

    def _take(self, result: StepResult, source: str, reward: float | None) -> None:
        self.steps.append(Step(result.text, source, reward, result.new_tokens))  # type: ignore[arg-type]
        self.finish_reason = self.stop.reason(result.finished, self.tokens_used, len(self.steps))

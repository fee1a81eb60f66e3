"""Typed records that cross the boundary between the scheduler and the model roles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Source = Literal["draft", "target"]


@dataclass(frozen=True)
class Rejected:
    """A draft step the acceptance rule turned down: at step `index` the target's step replaced it."""

    index: int
    text: str
    reward: float


@dataclass(frozen=True)
class Step:
    """One accepted reasoning step of a solution."""

    text: str
    source: Source
    reward: float | None  # the PRM's reward; None for target steps (not re-scored)
    tokens: int  # tokens the producing model generated for it


@dataclass(frozen=True)
class StepCall:
    """Ask a generator for the next step of one request.

    The whole context (prompt and accepted steps) travels with every call: an
    engine keeps a KV cache per request as an optimisation only, reconciles it
    with `steps` and falls back to a full prefill when it has nothing (a
    restarted actor), so a retried call is always safe.
    """

    request_id: str
    problem: str  # each engine renders it with its own tokenizer's prompt / chat template
    steps: tuple[str, ...]
    max_tokens: int
    seed: int
    step_index: int
    # Optional, added for the baselines (defaults keep every older call as it was):
    temperature: float | None = None  # sampling temperature for this call; None: the engine's own
    speculative: bool = False  # sd mode: the whole solution by token-level speculative decoding


@dataclass(frozen=True)
class StepResult:
    request_id: str
    text: str  # without the delimiter
    finished: bool  # ended on EOS / without the delimiter: the solution is complete
    new_tokens: int  # tokens generated for this step (what the token budget counts)
    prefill_tokens: int  # context tokens processed (not already cached) for this call
    error: str | None = None  # this request cannot go on (e.g. its prompt does not fit)
    # Tokens this call really fed the model: the prefill and every generated token but the last,
    # whose logits were never needed (the next call feeds it with its context, as prefill). None
    # (hand-made results in tests): new + prefill.
    fed_tokens: int | None = None
    # sd mode only (a speculative call): what the assistant (draft) model did for it
    draft_tokens: int = 0  # tokens the draft processed (prefill + proposals)
    draft_discarded: int = 0  # draft proposals the target did not accept

    @property
    def processed_tokens(self) -> int:
        """What the FLOPs count charges this call with (README: tokens "processed")."""
        return self.new_tokens + self.prefill_tokens if self.fed_tokens is None else self.fed_tokens


@dataclass(frozen=True)
class ScoreCall:
    """Ask the PRM for the rewards of a request's steps; the last one is the candidate."""

    request_id: str
    problem: str
    steps: tuple[str, ...]


@dataclass(frozen=True)
class ScoreResult:
    request_id: str
    rewards: tuple[float, ...]  # one per step of the call, in [0, 1]
    tokens: int  # tokens the PRM processed for this call
    error: str | None = None

    @property
    def last(self) -> float:
        return self.rewards[-1]


@dataclass(frozen=True)
class RequestInput:
    """A row to solve: what the scheduler needs, nothing model-specific."""

    id: str
    problem: str
    seed: int = 0

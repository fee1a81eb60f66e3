"""When a request is finished: EOS (a step ended without the delimiter), token budget, step budget."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StopRule:
    max_new_tokens: int = 512  # solution tokens over all steps
    max_steps: int = 32
    max_step_tokens: int = 256  # per step; a longer step is cut and the solution goes on

    def __post_init__(self) -> None:
        if min(self.max_new_tokens, self.max_steps, self.max_step_tokens) < 1:
            raise ValueError("stop budgets (max_new_tokens, max_steps, max_step_tokens) must be >= 1")

    def step_budget(self, tokens_used: int) -> int:
        return max(0, min(self.max_step_tokens, self.max_new_tokens - tokens_used))

    def reason(self, finished: bool, tokens_used: int, steps: int) -> str | None:
        """Why the request stops after a step was taken, or None to go on."""
        if finished:
            return "eos"
        if tokens_used >= self.max_new_tokens:
            return "length"
        if steps >= self.max_steps:
            return "max_steps"
        return None

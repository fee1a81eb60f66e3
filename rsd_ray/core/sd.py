"""Token-level speculative decoding (`sd`) as a state: one call for the whole solution.

Lossless speculative decoding (the draft proposes tokens, the target verifies
them) needs the draft and the target in one engine and works token by token,
not step by step, so the state sends a single *speculative* call to the
target role (models/assisted.py serves it) and splits the solution it gets
back into steps at the delimiter. Every step is the target's: greedy sd must
equal the target mode.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rsd_ray.core.records import Step, StepCall, StepResult
from rsd_ray.core.request import RequestState, Role


@dataclass
class SDState(RequestState):
    @property
    def need(self) -> Role | None:
        return None if self.done else "target"

    def step_call(self) -> StepCall:
        # the whole solution in one call: its budget is the solution's token budget
        return replace(super().step_call(), max_tokens=self.stop.max_new_tokens, speculative=True)

    def on_target(self, result: StepResult) -> None:
        if result.error:
            return self.fail(f"sd: {result.error}")
        before = len(self.steps)
        texts = result.text.split(self.delimiter)
        # Tokens per step are not reported by the engine (one call, one count):
        # shared out in proportion to each step's characters, the total exact.
        weights = [len(t) + len(self.delimiter) for t in texts]
        bounds = [round(result.new_tokens * sum(weights[:k]) / sum(weights)) for k in range(len(texts) + 1)]
        for k, text in enumerate(texts):
            last = k == len(texts) - 1
            self.steps.append(Step(text, "target", None, bounds[k + 1] - bounds[k]))
            # the same stop rule as the step-wise modes (a step budget cannot be applied afterwards)
            self.finish_reason = self.stop.reason(last and result.finished, self.tokens_used, len(self.steps))
            if self.finish_reason:
                break
        self.counters.observe_speculative(result, steps=len(self.steps) - before)
        if self.finish_reason is None:  # the call's budget ran out before EOS
            self.finish_reason = "length"

"""Statistics of RSD runs, kept apart from logging and export.

Counters live per request (so a retried or resumed row carries its own) and
add up into run totals; FLOPs are 2 x parameters x tokens processed per model.
The states never bump a field: they report what happened through the
`observe_*` methods, so what each event counts is written here once (vLLM's
`SpecDecodingStats.observe_draft`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from rsd_ray.core.records import ScoreResult, StepResult


@dataclass
class Counters:
    steps_draft_accepted: int = 0
    steps_draft_rejected: int = 0
    steps_target: int = 0
    tokens_draft: int = 0  # processed by the draft: prefill + generated
    tokens_draft_discarded: int = 0  # generated draft tokens of rejected steps
    tokens_target: int = 0
    tokens_prm: int = 0

    def observe_draft(self, result: StepResult) -> None:
        """A draft call came back: what the draft processed for it."""
        self.tokens_draft += result.processed_tokens

    def observe_accepted(self) -> None:
        """The acceptance rule kept a draft step."""
        self.steps_draft_accepted += 1

    def observe_rejected(self, result: StepResult) -> None:
        """The acceptance rule turned a draft step down: its generated tokens were for nothing."""
        self.steps_draft_rejected += 1
        self.tokens_draft_discarded += result.new_tokens

    def observe_target(self, result: StepResult) -> None:
        """The target wrote a step."""
        self.tokens_target += result.processed_tokens
        self.steps_target += 1

    def observe_score(self, result: ScoreResult) -> None:
        """The PRM scored a call's steps."""
        self.tokens_prm += result.tokens

    def observe_speculative(self, result: StepResult, steps: int) -> None:
        """A token-level speculative call (sd) came back as `steps` target steps: both models' tokens."""
        self.tokens_target += result.processed_tokens
        self.tokens_draft += result.draft_tokens
        self.tokens_draft_discarded += result.draft_discarded
        self.steps_target += steps

    def observe_discarded(self, tokens: int) -> None:
        """Draft tokens generated for solutions not picked (beam search, the sampling baselines)."""
        self.tokens_draft_discarded += tokens

    def __iadd__(self, other: "Counters") -> "Counters":
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class ModelSizes:
    """Parameter counts used for the FLOPs estimate (0 for a role a mode does not use)."""

    draft: int = 0
    target: int = 0
    prm: int = 0


def accuracy(correct: int, referenced: int) -> float | None:
    """The one definition (eval, bench, report): correct rows over every row with a reference; a
    row that failed counts as wrong, never as absent. None when no row has a reference."""
    return correct / referenced if referenced else None


def summarize(counters: Counters, rows: int, errors: int, correct: int, referenced: int,
              sizes: ModelSizes, wall_s: float) -> dict:
    """The metrics of DESIGN.md section 3, for one run or one mode of an eval.

    accuracy = correct rows / rows with a reference (an errored row is wrong, never left out);
    None when no row has one. FLOPs = 2 x parameters x tokens processed, per model."""
    c = counters
    draft_steps = c.steps_draft_accepted + c.steps_draft_rejected
    all_steps = c.steps_draft_accepted + c.steps_target
    flops = {
        "flops_draft": 2 * sizes.draft * c.tokens_draft,
        "flops_target": 2 * sizes.target * c.tokens_target,
        "flops_prm": 2 * sizes.prm * c.tokens_prm,
    }
    return {
        "rows": rows,
        "errors": errors,
        "accuracy": accuracy(correct, referenced),
        **c.as_dict(),
        "acceptance_rate": (c.steps_draft_accepted / draft_steps) if draft_steps else None,
        "target_step_share": (c.steps_target / all_steps) if all_steps else None,
        **flops,
        "flops_total": sum(flops.values()),
        "wall_s": wall_s,
        "rows_per_s": rows / wall_s if wall_s > 0 else None,
    }

"""Test helpers shared by the layers' tests."""

from dataclasses import replace

from rsd_ray.core.records import StepCall, StepResult


def generate_solution(engine, call: StepCall, max_steps: int) -> list[StepResult]:
    """Run one request through a step engine step by step to its end (the engine alone, no scheduler)."""
    out: list[StepResult] = []
    steps = list(call.steps)
    for _ in range(max_steps):
        r = engine.generate_steps([replace(call, steps=tuple(steps), step_index=len(steps))])[0]
        out.append(r)
        steps.append(r.text)
        if r.finished:
            break
    return out

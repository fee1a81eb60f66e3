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


def write_zoo_rows(path, n: int) -> None:
    """An input of n rows cycling through the zoo's problems, ids q0..q{n-1} (the resume and fault jobs')."""
    import json

    from rsd_ray.zoo import zoo_problems

    problems = [json.loads(line) for line in zoo_problems().read_text().splitlines() if line.strip()]
    with open(path, "w") as f:
        for i in range(n):
            p = problems[i % len(problems)]
            f.write(json.dumps({"id": f"q{i}", "problem": p["problem"], "answer": p["answer"]}) + "\n")

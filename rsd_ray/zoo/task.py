"""The zoo's task: chained +/- arithmetic solved one step per line pair.

A problem "37+45-12+8=?" is solved as

    37+45=82\n\n82-12=70\n\n70+8=78\n\n\\boxed{78}

Every step is checkable on its own (DESIGN.md section 4: a PRM can only learn
verification that is learnable), which is what lets the zoo label draft and
target steps exactly and train a PRM on them.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

DELIMITER = "\n\n"
_STEP = re.compile(r"^(\d+)([+-])(\d+)=(\d+)$")
_BOXED = re.compile(r"^\\boxed\{(\d+)\}$")


@dataclass(frozen=True)
class TaskSpec:
    """Difficulty knobs: number of operands and their range."""

    min_terms: int = 4
    max_terms: int = 5
    max_operand: int = 30
    max_value: int = 99


@dataclass(frozen=True)
class Problem:
    id: str
    problem: str
    solution: str
    answer: str


def make_problem(rng: random.Random, spec: TaskSpec, pid: str) -> Problem:
    n = rng.randint(spec.min_terms, spec.max_terms)
    value = rng.randint(1, spec.max_operand)
    expr, steps = str(value), []
    for _ in range(n - 1):
        b = rng.randint(1, spec.max_operand)
        # Keep every intermediate result in [0, max_value] so that results
        # stay non-negative and short.
        op = rng.choice("+-")
        if op == "+" and value + b > spec.max_value:
            op = "-"
        if op == "-" and value - b < 0:
            op = "+"
        new = value + b if op == "+" else value - b
        steps.append(f"{value}{op}{b}={new}")
        expr += f"{op}{b}"
        value = new
    steps.append(f"\\boxed{{{value}}}")
    return Problem(pid, f"{expr}=?", DELIMITER.join(steps), str(value))


def make_problems(n: int, seed: int, spec: TaskSpec = TaskSpec(), prefix: str = "zoo") -> list[Problem]:
    rng = random.Random(seed)
    return [make_problem(rng, spec, f"{prefix}-{seed}-{i}") for i in range(n)]


def operands(problem: str) -> tuple[int, list[tuple[str, int]]]:
    """Split "37+45-12=?" into 37 and [("+", 45), ("-", 12)]."""
    expr = problem.removesuffix("=?")
    first = re.match(r"\d+", expr)
    if first is None:
        raise ValueError(f"not a zoo problem: {problem!r}")
    ops = [(m.group(1), int(m.group(2))) for m in re.finditer(r"([+-])(\d+)", expr[first.end():])]
    return int(first.group()), ops


def expected_step(problem: str, prior_steps: list[str]) -> str | None:
    """The one correct next step given the steps so far, or None if none can follow.

    The left operand is the previous step's result (or the first operand),
    the operation and right operand are the problem's next ones; after the
    last operation comes the boxed answer. A step after a wrong one is judged
    against the (wrong) value its prefix carried: a PRM scores a step's own
    correctness, not its prefix's.
    """
    value, ops = operands(problem)
    if prior_steps:
        last = _STEP.match(prior_steps[-1])
        if last is None:
            return None
        value = int(last.group(4))
    k = len(prior_steps)
    if k < len(ops):
        op, b = ops[k]
        return f"{value}{op}{b}={value + b if op == '+' else value - b}"
    if k == len(ops):
        return f"\\boxed{{{value}}}"
    return None


def step_is_correct(problem: str, prior_steps: list[str], step: str) -> bool:
    """Exact verification of one step against its prefix."""
    return step == expected_step(problem, prior_steps)

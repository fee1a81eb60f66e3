"""Running one mode over rows, whatever the backend: states in, graded records and metrics out.

A backend only has to solve request states (drive them to their end); the
states, the grading and the output records are the same for every backend,
which is what makes `--backend local` a reference for `--backend ray`.
"""

from __future__ import annotations

import time
from typing import Protocol

from rsd_ray.config import Config
from rsd_ray.core.records import RequestInput
from rsd_ray.core.request import RequestState
from rsd_ray.core.stats import ModelSizes
from rsd_ray.data.rows import Row
from rsd_ray.grading.grader import Grader
from rsd_ray.runner.output import metrics, record

ROLES_OF: dict[str, tuple[str, ...]] = {"rsd": ("draft", "target", "prm"), "draft": ("draft",),
                                        "target": ("target",)}


class Backend(Protocol):
    def solve(self, states: list[RequestState]) -> list[RequestState]:
        """Drive every state to its end; returns them (any order)."""

    def sizes(self, mode: str) -> ModelSizes: ...

    def close(self) -> None: ...


def make_states(rows: list[Row], cfg: Config, mode: str) -> list[RequestState]:
    states = []
    for row in rows:
        s = RequestState(RequestInput(row.id, row.problem or "", cfg.generation.seed), mode,  # type: ignore[arg-type]
                         cfg.rsd.build(), cfg.generation.stop_rule(), delimiter=cfg.generation.delimiter)
        if row.error:
            s.fail(row.error)
        states.append(s)
    return states


def solve_records(rows: list[Row], cfg: Config, mode: str, solve, grader: Grader) -> list[dict]:
    """Rows in, one graded output record per row out, in input order; `solve` drives states to their end."""
    solved = {s.request.id: s for s in solve(make_states(rows, cfg, mode))}
    return [graded_record(row, solved[row.id], mode, grader) for row in rows]


def graded_record(row: Row, state: RequestState, mode: str, grader: Grader) -> dict:
    grade = None if state.error else grader.grade(state.response, row.reference, row.kind)  # type: ignore[arg-type]
    return record(row, mode, None if row.error else state, grade)


def run_mode(rows: list[Row], cfg: Config, mode: str, backend: Backend, grader: Grader) -> tuple[list[dict], dict]:
    """Solve every row in one mode, in memory; records in input order, and the mode's metrics."""
    t0 = time.perf_counter()
    records = solve_records(rows, cfg, mode, backend.solve, grader)
    return records, metrics(records, backend.sizes(mode), time.perf_counter() - t0)

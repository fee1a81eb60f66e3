"""Running one mode over rows, whatever the backend: states in, graded records and metrics out.

A backend only has to solve request states (drive them to their end); the
states, the grading and the output records are the same for every backend,
which is what makes `--backend local` a reference for `--backend ray`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from rsd_ray.config import Config
from rsd_ray.core.beam import BeamState
from rsd_ray.core.records import RequestInput
from rsd_ray.core.request import RequestState
from rsd_ray.core.samples import pick_best, pick_majority, reduce_samples, spawn_samples
from rsd_ray.core.sd import SDState
from rsd_ray.core.stats import ModelSizes
from rsd_ray.data.rows import Row
from rsd_ray.grading.grader import Grader
from rsd_ray.runner.records import record
from rsd_ray.runner.summary import metrics

ROLES_OF: dict[str, tuple[str, ...]] = {
    "rsd": ("draft", "target", "prm"), "draft": ("draft",), "target": ("target",),
    "sd": ("draft", "target"),  # one engine holding both (models/assisted.py), served as the target role
    "majority": ("draft",), "best_of_n": ("draft", "prm"), "beam": ("draft", "prm"),
}


class Backend(Protocol):
    def solve(self, states: list[RequestState]) -> list[RequestState]:
        """Drive every state to its end; returns them (any order)."""

    def sizes(self, mode: str) -> ModelSizes: ...

    def set_gate(self, gate) -> None:
        """Admit rsd states through this online target budget gate from now on (None: none)."""

    def close(self) -> None: ...


def make_states(rows: list[Row], cfg: Config, mode: str) -> list[RequestState]:
    """The states a backend drives: one per row, or n samples per row (majority, best_of_n)."""
    if mode not in ROLES_OF:
        raise ValueError(f"unknown mode {mode!r} (available: {', '.join(ROLES_OF)})")
    b = cfg.baselines
    states: list[RequestState] = []
    for row in rows:
        req = RequestInput(row.id, row.problem or "", cfg.generation.seed)
        common = dict(weighting=cfg.rsd.build(), stop=cfg.generation.stop_rule(), delimiter=cfg.generation.delimiter)
        if mode == "beam":
            s: RequestState = BeamState(req, "draft", temperature=b.temperature, width=b.beam_width, expansions=b.beam_expansions,
                                        how=b.aggregate, **common)
        elif mode == "sd":
            s = SDState(req, "target", **common)
        else:
            s = RequestState(req, "draft" if mode in SAMPLED else mode, score_target=cfg.rsd.score_target,  # type: ignore[arg-type]
                             seq=row.seq, **common)
        if row.error:
            s.fail(row.error)
        if mode in SAMPLED:
            states.extend(spawn_samples(s, b.n, scored=mode == "best_of_n", temperature=b.temperature))
        else:
            states.append(s)
    return states


SAMPLED = ("majority", "best_of_n")


def reduce(states: list[RequestState], cfg: Config, mode: str,
           same: Callable[[str, str], bool] | None = None) -> list[RequestState]:
    """One state per row: a sampled mode's samples merged by its pick; other modes unchanged.

    `same`: answer equivalence for the majority vote (the grader's); None compares texts."""
    if mode == "majority":
        return reduce_samples(states, pick_majority(same))
    if mode == "best_of_n":
        return reduce_samples(states, pick_best(cfg.baselines.aggregate))
    return states


def solve_records(rows: list[Row], cfg: Config, mode: str, solve, grader: Grader, samples: int = 0) -> list[dict]:
    """Rows in, one graded output record per row out, in input order; `solve` drives states to their end.

    With `samples` K > 0, each row is solved K times as rows "<id>#s<k>" (the
    engines seed sampling by request id, so the samples differ): synth's input.
    """
    if samples:
        rows = [replace(r, id=f"{r.id}#s{k}") for r in rows for k in range(samples)]
    solved = {s.request.id: s for s in reduce(solve(make_states(rows, cfg, mode)), cfg, mode, grader.equivalent)}
    records = []
    for row in rows:
        s = solved[row.id]
        grade = None if s.error else grader.grade(s.response, row.reference, row.kind)  # type: ignore[arg-type]
        records.append(record(row, mode, None if row.error else s, grade))
    return records


def run_mode(rows: list[Row], cfg: Config, mode: str, backend: Backend, grader: Grader) -> tuple[list[dict], dict]:
    """Solve every row in one mode, in memory; records in input order, and the mode's metrics."""
    t0 = time.perf_counter()
    records = solve_records(rows, cfg, mode, backend.solve, grader)
    return records, metrics(records, backend.sizes(mode), time.perf_counter() - t0)

"""Running one mode over rows, whatever the backend: states in, graded records and metrics out.

A backend only has to solve request states (drive them to their end); the
states, the grading and the output records are the same for every backend,
which is what makes `--backend local` a reference for `--backend ray`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from rsd_ray.config import Config
from rsd_ray.core.beam import BeamState
from rsd_ray.core.journal import restore
from rsd_ray.core.records import RequestInput
from rsd_ray.core.request import RequestState
from rsd_ray.core.samples import pick_best, pick_majority, reduce_samples, spawn_samples
from rsd_ray.core.sd import SDState
from rsd_ray.core.stats import ModelSizes
from rsd_ray.data.rows import Row
from rsd_ray.grading.grader import Grader
from rsd_ray.runner.records import record
from rsd_ray.runner.summary import metrics

@dataclass(frozen=True)
class Mode:
    """What a mode needs and how its states start; the one table every layer reads (MODES)."""

    roles: tuple[str, ...]  # the models it runs
    state: Callable[[RequestInput, Row, Config, dict], RequestState]  # a row's state (its samples' parent)
    pick: Callable[[Config, Callable | None], Callable] | None = None  # sampled modes: N samples -> the answer
    scored: bool = False  # sampled modes: the PRM scores every step of every sample
    assisted: bool = False  # sd: one engine holding draft and target (models/assisted.py) serves the target role


def _plain(mode: str, states_mode: str | None = None):
    return lambda req, row, cfg, common: RequestState(req, states_mode or mode, score_target=cfg.rsd.score_target,
                                                      seq=row.seq, **common)


def _beam(req: RequestInput, row: Row, cfg: Config, common: dict) -> RequestState:
    b = cfg.baselines
    return BeamState(req, "draft", temperature=b.temperature, width=b.beam_width, expansions=b.beam_expansions,
                     how=b.aggregate, **common)


MODES: dict[str, Mode] = {
    "rsd": Mode(("draft", "target", "prm"), _plain("rsd")),
    "draft": Mode(("draft",), _plain("draft")),
    "target": Mode(("target",), _plain("target")),
    "sd": Mode(("draft", "target"), lambda req, row, cfg, common: SDState(req, "target", **common), assisted=True),
    "majority": Mode(("draft",), _plain("majority", "draft"), pick=lambda cfg, same: pick_majority(same)),
    "best_of_n": Mode(("draft", "prm"), _plain("best_of_n", "draft"), scored=True,
                      pick=lambda cfg, same: pick_best(cfg.baselines.aggregate)),
    "beam": Mode(("draft", "prm"), _beam),
}



def mode_spec(name: str) -> Mode:
    if name not in MODES:
        raise ValueError(f"unknown mode {name!r} (available: {', '.join(MODES)})")
    return MODES[name]


def roles_of(modes: list[str]) -> list[str]:
    """Every role the modes need, sorted."""
    return sorted({r for m in modes for r in mode_spec(m).roles})


class Backend(Protocol):
    def solve(self, states: list[RequestState]) -> list[RequestState]:
        """Drive every state to its end; returns them (any order)."""

    def sizes(self, mode: str) -> ModelSizes: ...

    def set_gate(self, gate) -> None:
        """Admit rsd states through this online target budget gate from now on (None: none)."""

    def set_journal(self, journal) -> None:
        """Journal the committed steps of requests in flight from now on (runner/journal.py; None: stop)."""

    def close(self) -> None: ...


def make_states(rows: list[Row], cfg: Config, mode_name: str, resume: dict | None = None) -> list[RequestState]:
    """The states a backend drives: one per row, or n samples per row (majority, best_of_n). `resume`:
    request id -> the journaled progress of a solution a killed run left half-done (core/journal.py)."""
    spec = mode_spec(mode_name)
    b = cfg.baselines
    states: list[RequestState] = []
    for row in rows:
        req = RequestInput(row.id, row.problem or "", cfg.generation.seed)
        common = dict(weighting=cfg.rsd.build(), stop=cfg.generation.stop_rule(), delimiter=cfg.generation.delimiter)
        s = spec.state(req, row, cfg, common)
        if row.error:
            s.fail(row.error)
        elif resume and row.id in resume:
            restore(s, resume[row.id])  # type: ignore[arg-type]
        if spec.pick is not None:
            states.extend(spawn_samples(s, b.n, scored=spec.scored, temperature=b.temperature))
        else:
            states.append(s)
    return states


def reduce(states: list[RequestState], cfg: Config, mode_name: str,
           same: Callable[[str, str], bool] | None = None) -> list[RequestState]:
    """One state per row: a sampled mode's samples merged by its pick; other modes unchanged.

    `same`: answer equivalence for the majority vote (the grader's); None compares texts."""
    pick = mode_spec(mode_name).pick
    return states if pick is None else reduce_samples(states, pick(cfg, same))


def solve_records(rows: list[Row], cfg: Config, mode: str, solve, grader: Grader, samples: int = 0,
                  resume: dict | None = None) -> list[dict]:
    """Rows in, one graded output record per row out, in input order; `solve` drives states to their end.

    With `samples` K > 0, each row is solved K times as rows "<id>#s<k>" (the
    engines seed sampling by request id, so the samples differ): synth's input.
    """
    if samples:
        rows = [replace(r, id=f"{r.id}#s{k}") for r in rows for k in range(samples)]
    states = make_states(rows, cfg, mode, resume)
    solved = {s.request.id: s for s in reduce(solve(states), cfg, mode, grader.equivalent)}
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

"""`--backend local`: every role in this process, the synchronous scheduler, one mode at a time.

This is the reference the Ray backend is checked against, and the simplest
way to run the zoo on a laptop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rsd_ray.config import Config
from rsd_ray.core.records import RequestInput
from rsd_ray.core.request import MODES, RequestState
from rsd_ray.core.scheduler import drive
from rsd_ray.core.stats import ModelSizes
from rsd_ray.data.rows import Row
from rsd_ray.grading.grader import Grader
from rsd_ray.models.generator import StepGenerator
from rsd_ray.models.loading import parameter_count
from rsd_ray.models.prm import PRM
from rsd_ray.runner.output import metrics, record

ROLES_OF = {"rsd": ("draft", "target", "prm"), "draft": ("draft",), "target": ("target",)}


@dataclass
class LocalRoles:
    draft: StepGenerator | None = None
    target: StepGenerator | None = None
    prm: PRM | None = None

    @classmethod
    def load(cls, cfg: Config, modes: list[str]) -> "LocalRoles":
        from rsd_ray.models.roles import build_generator, build_prm

        need = {r for m in modes for r in ROLES_OF[m]}
        return cls(build_generator(cfg, "draft") if "draft" in need else None,
                   build_generator(cfg, "target") if "target" in need else None,
                   build_prm(cfg) if "prm" in need else None)

    def sizes(self, mode: str) -> ModelSizes:
        used = ROLES_OF[mode]
        return ModelSizes(**{r: parameter_count(getattr(self, r).model) if r in used else 0
                             for r in ("draft", "target", "prm")})


def run_mode(rows: list[Row], cfg: Config, mode: str, roles: LocalRoles, grader: Grader) -> tuple[list[dict], dict]:
    """Solve every row in one mode; returns the records (input order) and the mode's metrics."""
    if mode not in ROLES_OF:
        raise ValueError(f"mode {mode!r} is not available (modes: {', '.join(MODES)})")
    t0 = time.perf_counter()
    states = []
    for row in rows:
        s = RequestState(RequestInput(row.id, row.problem or "", cfg.generation.seed), mode,  # type: ignore[arg-type]
                         cfg.rsd.build(), cfg.generation.stop_rule(), delimiter=cfg.generation.delimiter)
        if row.error:
            s.fail(row.error)
        states.append(s)
    release = [e.release for e in (roles.draft, roles.target, roles.prm) if e is not None]
    done = {}
    for s in drive(states, cfg.run.batch_size,
                   draft=roles.draft.generate_steps if roles.draft else None,
                   target=roles.target.generate_steps if roles.target else None,
                   prm=roles.prm.score if roles.prm else None,
                   release=lambda ids: [r(ids) for r in release]):
        done[id(s)] = s
    records = []
    for row, s in zip(rows, states):
        grade = None if row.error or s.error else grader.grade(s.response, row.reference, row.kind)  # type: ignore[arg-type]
        records.append(record(row, mode, None if row.error else s, grade))
    return records, metrics(records, roles.sizes(mode), time.perf_counter() - t0)

"""`--backend local`: every role in this process, driven by the synchronous scheduler.

The reference the Ray backend is checked against, and the simplest way to
run the zoo on a laptop.
"""

from __future__ import annotations

from dataclasses import dataclass

from rsd_ray.config import Config
from rsd_ray.core.budget import BudgetGate
from rsd_ray.core.journal import snapshot
from rsd_ray.core.request import RequestState
from rsd_ray.core.scheduler import drive
from rsd_ray.core.stats import ModelSizes
from rsd_ray.models.assisted import AssistedEngine
from rsd_ray.models.generator import StepGenerator
from rsd_ray.models.prm import PRM
from rsd_ray.runner.journal import Journal
from rsd_ray.runner.modes import mode_spec, roles_of


@dataclass
class LocalBackend:
    batch_size: int
    draft: StepGenerator | None = None
    target: StepGenerator | None = None
    prm: PRM | None = None
    assisted: AssistedEngine | None = None  # sd: serves the target role (speculative calls and plain ones)
    min_target_batch: int = 1  # run.min_target_batch: see core/scheduler.py
    max_in_flight: int = 0  # RunConfig.in_flight_cap(): see core/scheduler.py
    lockstep: bool = False  # run.schedule: lockstep, the reference's rounds (core/admission.py)
    gate: BudgetGate | None = None  # the online target budget of the pass running now (set_gate)
    journal: Journal | None = None  # the step journal of the pass running now (set_journal)

    @classmethod
    def load(cls, cfg: Config, modes: list[str]) -> "LocalBackend":
        from rsd_ray.models.roles import build_generator, build_prm

        need = roles_of(modes)
        b = cls(cfg.run.batch_size,
                build_generator(cfg, "draft") if "draft" in need else None,
                build_generator(cfg, "target") if "target" in need else None,
                build_prm(cfg) if "prm" in need else None,
                min_target_batch=cfg.run.target_gather(), max_in_flight=cfg.run.in_flight_cap(),
                lockstep=cfg.run.schedule == "lockstep")
        if any(mode_spec(m).assisted for m in modes):  # one process: sd's engine shares the loaded weights
            b.assisted = AssistedEngine(b.target, b.draft.model)  # type: ignore[arg-type, union-attr]
        return b

    def solve(self, states: list[RequestState]) -> list[RequestState]:
        engines = [e for e in (self.draft, self.target, self.prm) if e is not None]
        target = self.assisted or self.target
        return list(drive(states, self.batch_size,
                          draft=self.draft.generate_steps if self.draft else None,
                          target=target.generate_steps if target else None,
                          prm=self.prm.score if self.prm else None,
                          release=lambda ids: [e.release(ids) for e in engines],
                          min_target_batch=self.min_target_batch, max_in_flight=self.max_in_flight,
                          gate=self.gate, watch=self._watch, lockstep=self.lockstep))

    def _watch(self, active: list[RequestState]) -> None:
        if self.journal is not None and self.journal.due():
            self.journal.write(list(filter(None, map(snapshot, active))))

    def set_gate(self, gate: BudgetGate | None) -> None:
        self.gate = gate

    def set_journal(self, journal: Journal | None) -> None:
        self.journal = journal

    def sizes(self, mode: str) -> ModelSizes:
        used = mode_spec(mode).roles
        return ModelSizes(**{r: getattr(self, r).num_parameters() if r in used else 0
                             for r in ("draft", "target", "prm")})

    def close(self) -> None:
        pass

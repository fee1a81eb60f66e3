"""`--backend ray`: role actors on their own resources, coordinators driving them.

Starts (or joins) a Ray cluster, has the supervisor start every replica of
the roles the modes need, and spreads requests over the coordinators; the
driver only hands states out and collects them, so it stays light.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import replace

import ray

from rsd_ray.actors.failures import raise_role_failure
from rsd_ray.cluster.placement import resolve_auto_devices
from rsd_ray.config import Config
from rsd_ray.core.request import RequestState
from rsd_ray.core.stats import ModelSizes
from rsd_ray.runner.modes import mode_spec, roles_of

# Every worker process gets these: quiet libraries, one BLAS thread (actors
# share the machine's cores; each sets torch's threads itself).
WORKER_ENV = {"TRANSFORMERS_VERBOSITY": "error", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
              "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}


def init_ray(cfg: Config, cpus_needed: float) -> bool:
    """Join cfg.run.address, or start a local Ray; True when this call started it."""
    if ray.is_initialized():
        return False
    env = dict(WORKER_ENV)
    for key in ("RSD_RAY_ZOO", "HF_HUB_OFFLINE", "RSD_RAY_BENCHMARKS"):
        if key in os.environ:
            env[key] = os.environ[key]
    # Inside a submitted job Ray sets RAY_ADDRESS: join that cluster.
    address = cfg.run.address or os.environ.get("RAY_ADDRESS")
    if address:
        # A job's own runtime_env may name the same variables: combine, do not fail.
        os.environ.setdefault("RAY_OVERRIDE_JOB_RUNTIME_ENV", "1")
        ray.init(address=address, runtime_env={"env_vars": env}, log_to_driver=False)
    else:
        # Logical CPUs: each rank actor asks for cpus_per_rank; on a small
        # machine they time-share its cores (each uses run.threads threads).
        # Two more for Ray Data's read and map stages, which must never wait
        # for CPUs the model actors hold.
        # address="local": a new Ray of our own, never a `ray start` cluster someone left on this machine
        ray.init(address="local", num_cpus=max(os.cpu_count() or 1, int(cpus_needed + 0.999)) + 2,
                 include_dashboard=False,
                 runtime_env={"env_vars": env}, log_to_driver=False)
    return True


class RayBackend:
    def __init__(self, cfg: Config, roles: list[str], supervisor, replicas, coordinators, owns_ray: bool):
        self.cfg = cfg
        self.roles = roles
        self.supervisor = supervisor
        self.replicas = replicas
        self.coordinators = coordinators
        self.owns_ray = owns_ray
        self._poller: threading.Thread | None = None
        self._polling = threading.Event()
        self._params = {role: ray.get(reps[0].ranks[0].info.remote())["params"] for role, reps in replicas.items()}

    @classmethod
    def start(cls, cfg: Config, modes: list[str]) -> "RayBackend":
        from rsd_ray.actors.coordinator import Coordinator
        from rsd_ray.actors.lockstep import LockstepCoordinator
        from rsd_ray.actors.replicas import Supervisor

        roles = roles_of(modes)
        if any(mode_spec(m).assisted for m in modes):  # the target actors also hold the draft
            cfg = replace(cfg, run=replace(cfg.run, sd_target=True))
        cpus = sum(getattr(cfg, r).cpus_per_rank * getattr(cfg, r).tp * getattr(cfg, r).replicas for r in roles)
        owns = init_ray(cfg, cpus)
        cfg = resolve_auto_devices(cfg, ray.cluster_resources().get("GPU", 0),  # device: auto on a CPU-only Ray
                                   warn=lambda line: print(f"rsd-ray: warning: {line}", file=sys.stderr, flush=True))
        # Against what Ray reports (a local Ray has the logical CPUs init_ray gave it): a placement that
        # can never be made fails now, in one line, not after start_timeout_s of silent waiting.
        from rsd_ray.cluster.fit import PlacementError, ensure_fit

        try:
            ensure_fit(cfg, roles, [n["Resources"] for n in ray.nodes() if n["Alive"]],
                       warn=lambda line: print(f"rsd-ray: warning: {line}", file=sys.stderr, flush=True))
        except PlacementError:
            if owns:
                ray.shutdown()
            raise
        sup = Supervisor.remote(cfg, roles)
        replicas = ray.get(sup.start.remote(cfg.run.start_timeout_s))
        # A dead coordinator is restarted by Ray, which re-sends its solve() calls (the states travel
        # whole, so the fresh one re-drives them from their start): as many times as a replica may be.
        r = cfg.run
        restarts = {"max_restarts": r.max_restarts, "max_task_retries": r.max_restarts}
        common = (sup, replicas, r.batch_size, r.call_timeout_s, r.max_restarts, r.start_timeout_s)
        if r.schedule == "lockstep":  # the reference's rounds, a baseline (actors/lockstep.py)
            coords = [LockstepCoordinator.options(**restarts).remote(*common, i) for i in range(r.coordinators)]
        else:
            coords = [Coordinator.options(**restarts).remote(*common, r.target_gather(), r.in_flight_cap(), i)
                      for i in range(r.coordinators)]
        return cls(cfg, roles, sup, replicas, coords, owns)

    def solve(self, states: list[RequestState]) -> list[RequestState]:
        n = len(self.coordinators)
        chunks = [states[i::n] for i in range(n)]
        try:
            parts = ray.get([c.solve.remote(chunk) for c, chunk in zip(self.coordinators, chunks)])
        except ray.exceptions.RayTaskError as e:
            raise_role_failure(e)
            raise
        return [s for part in parts for s in part]

    def set_journal(self, journal) -> None:
        """Poll the coordinators for the committed steps of requests in flight into `journal` (None: stop)."""
        if self._poller is not None:
            self._polling.set()
            self._poller.join(60)
            self._poller = None
        if journal is None:
            return
        self._polling = threading.Event()

        def poll(stop: threading.Event) -> None:
            while not stop.wait(journal.every_s):
                try:
                    journal.write([j for part in ray.get([c.progress.remote() for c in self.coordinators],
                                                         timeout=60) for j in part])
                except (ray.exceptions.RayError, OSError):  # a restarting coordinator: the next poll
                    pass

        self._poller = threading.Thread(target=poll, args=(self._polling,), daemon=True, name="rsd-journal")
        self._poller.start()

    def set_gate(self, gate) -> None:
        """The online target budget of the pass that starts now (core/budget.py; None: none)."""
        ray.get([c.set_gate.remote(gate) for c in self.coordinators])

    def sizes(self, mode: str) -> ModelSizes:
        used = mode_spec(mode).roles
        return ModelSizes(**{r: self._params[r] if r in used else 0 for r in ("draft", "target", "prm")})

    def close(self) -> None:
        try:
            ray.get(self.supervisor.shutdown.remote())
            for c in self.coordinators:
                ray.kill(c)
            ray.kill(self.supervisor)
        finally:
            if self.owns_ray:
                ray.shutdown()

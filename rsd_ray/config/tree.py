"""The typed config tree: one dataclass per section, and the validation of the whole.

Validation raises ConfigError with one clear line; nothing here exits.
The defaults are the embedded config: the tiny zoo on CPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rsd_ray.config.roles import ModelConfig, PRMConfig
from rsd_ray.core.samples import Aggregate
from rsd_ray.core.stopping import StopRule
from rsd_ray.core.weighting import KINDS, Kind, Weighting


class ConfigError(ValueError):
    """A config that does not validate."""


@dataclass
class PromptConfig:
    template: str = "{problem}\n\n"  # used when chat is false
    chat: bool = False  # render with the tokenizer's chat template
    system: str | None = "Please reason step by step, and put your final answer within \\boxed{}."


@dataclass
class RSDConfig:
    weighting: Kind = "binary"
    delta: float = 0.7
    p: float = 0.5
    alpha: float = 10.0
    score_target: bool = False  # the PRM also scores target steps (costs PRM tokens; synth's step pairs)
    # The online target budget (core/budget.py): delta moves while the run goes so that the target
    # writes at most this share of the steps; delta is only where it starts. None: delta stays fixed.
    target_budget: float | None = None
    budget_window: int = 16  # rows per window: each window's delta comes from finished windows' rewards
    budget_lag: int = 0  # windows admission may run ahead of the oldest unfinished; 0: (clients+1) x batch_size rows

    def build(self) -> Weighting:
        return Weighting(self.weighting, self.delta, self.p, self.alpha)


@dataclass
class BaselineConfig:
    """The search and sampling baselines (modes majority, best_of_n, beam); sd uses generation.*."""

    n: int = 8  # majority, best_of_n: sampled draft solutions per problem
    aggregate: Aggregate = "min"  # best_of_n, beam: step rewards -> one score
    beam_width: int = 4  # beams kept after each step
    beam_expansions: int = 4  # sampled draft steps proposed per live beam and step
    temperature: float = 0.7  # draft sampling temperature of those three modes (generation.top_p applies)

    def validate(self) -> None:
        if self.n < 1:
            raise ConfigError(f"baselines.n must be >= 1, got {self.n}")
        if self.beam_width < 1 or self.beam_expansions < 1:
            raise ConfigError(f"baselines.beam_width and baselines.beam_expansions must be >= 1, "
                              f"got {self.beam_width} and {self.beam_expansions}")
        if not self.temperature > 0:
            raise ConfigError(f"baselines.temperature must be > 0 (the samples must differ), got {self.temperature}")


@dataclass
class GenerationConfig:
    delimiter: str = "\n\n"
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    max_new_tokens: int = 512
    max_steps: int = 32
    max_step_tokens: int = 256
    max_prompt_tokens: int = 2048  # a longer prompt is a row error, not a crash

    def stop_rule(self) -> StopRule:
        return StopRule(self.max_new_tokens, self.max_steps, self.max_step_tokens)


@dataclass
class RunConfig:
    backend: Literal["ray", "local"] = "local"
    batch_size: int = 64  # requests in flight per scheduler (per coordinator on Ray)
    threads: int = 0  # torch threads per model process; 0 = leave as is (Ray actors: 1)
    address: str | None = None  # Ray cluster to join; None starts a local one
    # The cluster adds nodes on demand: a placement no node can take now is a warning, not an error
    # (cluster/fit.py); without it such a run is refused at once instead of waiting out start_timeout_s.
    autoscaling: bool = False
    coordinators: int = 1  # coordinator actors sharing the model actors
    call_timeout_s: float = 600.0  # every remote call is bounded: a hung role is an error, not a hang
    start_timeout_s: float = 1200.0  # loading (and sharding) a model: bounded too, but generously
    max_restarts: int = 3  # replica restarts per failing call before the run fails
    part_rows: int = 1000  # rows per committed output part: the most a kill can cost a resumed job
    # ... but not their steps: the committed steps of solutions in flight are journaled this often
    # (runner/journal.py), and a resumed job continues them; 0: no journal
    journal_s: float = 2.0
    clients: int = 2  # Ray Data map-stage actors per coordinator: one fills while another's batch drains
    # rsd: call the target once this many requests wait for it (or nothing else can move); 0: half of
    # batch_size. 1 calls it every round. Results never change, only how target work is batched:
    # on the zoo, half the batch took rsd from 11.6 s to 8.6 s on Ray (docs/PERFORMANCE.md).
    min_target_batch: int = 0
    # While gathering, requests parked for the target do not count toward batch_size, so the draft
    # and the PRM keep full batches; in flight at most this many
    # (0: batch_size + the gather size, i.e. up to one target call's worth parked)
    max_in_flight: int = 0
    # continuous: step-level continuous batching (requests join as others finish; on Ray the roles work
    # at once). lockstep: the reference's rounds (static batches; every unfinished request drafts a step,
    # all are scored, the rejected go to the target, repeat; the roles take turns): a baseline
    schedule: Literal["continuous", "lockstep"] = "continuous"
    sd_target: bool = False  # set by the Ray backend when sd runs: target actors also hold the draft

    def target_gather(self) -> int:
        """min_target_batch resolved: requests gathered per target call (lock-step gathers none)."""
        if self.schedule == "lockstep":
            return 1
        return min(self.min_target_batch or max(1, self.batch_size // 2), self.batch_size)  # never over a call

    def in_flight_cap(self) -> int:
        """Requests in flight at most (schedulers): see max_in_flight."""
        k = self.target_gather()
        if k <= 1:
            return self.batch_size
        return max(self.batch_size, self.max_in_flight or self.batch_size + k)


@dataclass
class DataConfig:
    preset: str | None = None  # one of the benchmark presets (rsd_ray.data.presets)
    id_field: str | None = "id"
    problem_field: str = "problem"
    answer_field: str | None = "answer"
    choices_field: str | None = None


@dataclass
class GradingConfig:
    timeout_s: float = 5.0


@dataclass
class Config:
    draft: ModelConfig = field(default_factory=lambda: ModelConfig(path="zoo:draft"))
    target: ModelConfig = field(default_factory=lambda: ModelConfig(path="zoo:target"))
    prm: PRMConfig = field(default_factory=lambda: PRMConfig(path="zoo:prm"))
    prompt: PromptConfig = field(default_factory=PromptConfig)
    rsd: RSDConfig = field(default_factory=RSDConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    run: RunConfig = field(default_factory=RunConfig)
    data: DataConfig = field(default_factory=DataConfig)
    grading: GradingConfig = field(default_factory=GradingConfig)
    baselines: BaselineConfig = field(default_factory=BaselineConfig)

    def validate(self) -> "Config":
        for role in ("draft", "target", "prm"):
            m: ModelConfig = getattr(self, role)
            if not m.path:
                raise ConfigError(f"{role}.path is empty: give a local directory, a hub id or zoo:{role}")
            if m.tp < 1 or m.replicas < 1:
                raise ConfigError(f"{role}.tp and {role}.replicas must be >= 1")
            if m.overhead_tokens < 0:
                raise ConfigError(f"{role}.overhead_tokens must be >= 0 (0: the CPU estimate)")
            if m.device not in ("auto", "cpu", "cuda") and not m.device.startswith("cuda:"):
                raise ConfigError(f"{role}.device must be auto, cpu, cuda or cuda:N, got {m.device!r}")
            if m.cpus_per_rank < 0 or m.gpus_per_rank < 0 or not m.device_memory_gb > 0:
                raise ConfigError(f"{role}.cpus_per_rank and {role}.gpus_per_rank must be >= 0 and "
                                  f"{role}.device_memory_gb > 0")
        if self.rsd.weighting not in KINDS:
            raise ConfigError(f"rsd.weighting must be one of {', '.join(KINDS)}")
        if self.run.batch_size < 1:
            raise ConfigError("run.batch_size must be >= 1")
        if self.run.coordinators < 1 or self.run.call_timeout_s <= 0 or self.run.max_restarts < 0:
            raise ConfigError("run.coordinators >= 1, run.call_timeout_s > 0 and run.max_restarts >= 0 are required")
        if self.run.part_rows < 1 or self.run.clients < 1 or self.run.min_target_batch < 0 or self.run.journal_s < 0:
            raise ConfigError("run.part_rows and run.clients must be >= 1, run.min_target_batch and run.journal_s >= 0")
        if self.run.max_in_flight < 0:
            raise ConfigError("run.max_in_flight must be >= 0 (0: run.batch_size + the target gather size)")
        if "{problem}" not in self.prompt.template and not self.prompt.chat:
            raise ConfigError("prompt.template must contain {problem}")
        if not self.generation.delimiter:
            raise ConfigError("generation.delimiter must not be empty")
        g = self.generation
        if g.temperature < 0 or not 0 < g.top_p <= 1:
            raise ConfigError(f"generation.temperature must be >= 0 and generation.top_p in (0, 1], "
                              f"got {g.temperature} and {g.top_p}")
        if g.max_prompt_tokens < 1:
            raise ConfigError(f"generation.max_prompt_tokens must be >= 1, got {g.max_prompt_tokens}")
        if self.run.threads < 0 or not self.run.start_timeout_s > 0 or not self.grading.timeout_s > 0:
            raise ConfigError("run.threads >= 0, run.start_timeout_s > 0 and grading.timeout_s > 0 are required")
        self.baselines.validate()
        self._validate_budget()
        try:
            self.generation.stop_rule()
            self.rsd.build()
        except ValueError as e:
            raise ConfigError(str(e)) from None
        return self

    def _validate_budget(self) -> None:
        r = self.rsd
        if r.budget_window < 1 or r.budget_lag < 0:
            raise ConfigError("rsd.budget_window must be >= 1 and rsd.budget_lag >= 0 (0: from the batch size)")
        if r.target_budget is None:
            return
        if not 0.0 <= r.target_budget <= 1.0:
            raise ConfigError(f"rsd.target_budget is a share of steps, in [0, 1]; got {r.target_budget}")
        if r.weighting != "binary":
            raise ConfigError(f"rsd.target_budget needs rsd.weighting: binary (a threshold to move), "
                              f"got {r.weighting}")
        if self.run.backend == "ray" and self.run.coordinators != 1:
            raise ConfigError("rsd.target_budget needs run.coordinators: 1 (the budget lives in the coordinator)")
        if self.run.schedule == "lockstep":
            raise ConfigError("rsd.target_budget needs run.schedule: continuous (lockstep is the reference's "
                              "baseline, with a fixed delta)")

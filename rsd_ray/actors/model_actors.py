"""Thin role actors: load the model once, forward calls. No acceptance rule lives here.

One rank actor holds one tensor-parallel shard (or the whole model when
tp = 1); every rank of a replica receives the same call, so sampling seeds
are identical on every rank, and rank 0's answer is used.
"""

from __future__ import annotations

import os
from functools import partial

from rsd_ray.cluster.bootstrap import RankEnv
from rsd_ray.config import Config


class _Rank:
    """Shared start-up of a rank: threads, optional TP sharding, identity for placement checks."""

    def _setup(self, cfg: Config, role: str, env: RankEnv | None) -> Config:
        import torch

        self.cfg = cfg
        torch.set_num_threads(cfg.run.threads or 1)
        self.role = role
        self.env = env
        self.calls = 0  # batches served: lets tests and operators see work spread over replicas
        return self.cfg

    @property
    def sharded(self) -> bool:
        """Tensor parallel: the model is loaded on the host and AutoTP places each rank's shard."""
        return self.env is not None and self.env.world_size > 1

    def _shard(self, engine) -> None:
        if not self.sharded:
            return
        from rsd_ray.cluster.bootstrap import shard_tensor_parallel
        from rsd_ray.models.loading import DTYPES

        engine.adopt(shard_tensor_parallel(engine.model, self.env, DTYPES[getattr(self.cfg, self.role).dtype]))

    def __repr__(self) -> str:  # Ray's state API and dashboard name the actor by it: "target rank 1"
        return f"{self.role} rank {self.env.rank if self.env else 0}"

    def info(self) -> dict:
        import ray

        ctx = ray.get_runtime_context()
        return {"role": self.role, "rank": self.env.rank if self.env else 0, "node_id": ctx.get_node_id(),
                "pid": os.getpid(), "params": self.params, "calls": self.calls}

    def release(self, request_ids: list[str]) -> None:
        self.engine.release(request_ids)

    def held_bytes(self) -> dict[str, int]:
        """Bytes of parameters this rank holds, by where they live in the model (tests, the GPU check)."""
        from rsd_ray.models.loading import held_bytes

        return held_bytes(self.engine.model)


class GeneratorRank(_Rank):
    def __init__(self, cfg: Config, role: str, env: RankEnv | None = None):
        from rsd_ray.models.roles import build_assisted, build_generator

        cfg = self._setup(cfg, role, env)
        # sd (assisted generation) needs the draft beside the target; that engine serves every target call
        build = build_assisted if role == "target" and cfg.run.sd_target else partial(build_generator, role=role)
        self.engine = build(cfg, sharded=self.sharded)
        self.params = self.engine.num_parameters()  # before sharding: the whole model's size
        self._shard(self.engine)

    def generate_steps(self, calls):
        self.calls += 1
        return self.engine.generate_steps(calls)


class PRMRank(_Rank):
    def __init__(self, cfg: Config, role: str = "prm", env: RankEnv | None = None):
        from rsd_ray.models.roles import build_prm

        self._setup(cfg, role, env)
        self.engine = build_prm(cfg, sharded=self.sharded)
        self.params = self.engine.num_parameters()
        self._shard(self.engine)

    def score(self, calls):
        self.calls += 1
        return self.engine.score(calls)

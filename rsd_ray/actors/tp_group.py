"""One replica of a role: its rank actors, one tensor-parallel group, and the fan-out of a call.

A replica is the group of rank actors that together hold one copy of a model
(one actor when tp = 1, N actors of one DeepSpeed AutoTP group otherwise),
inside its own placement group (cluster/placement.py: STRICT_PACK, one bundle
per rank). This module owns the group's life: the rank environments (asked
of a task placed on the group's node, so MASTER_ADDR/PORT are that node's),
the rank actors, each of which joins the process group and shards its model
as it starts (cluster/bootstrap.py, the one place for distributed
bootstrap), and every call: all ranks get the same calls (identical sampling
seeds), rank 0 answers. Replacing a failed group is supervision's
(actors/replicas.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ray
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from rsd_ray.cluster.bootstrap import RankEnv, rank_envs
from rsd_ray.cluster.placement import accelerator, rank_bundle
from rsd_ray.config import Config

METHOD = {"draft": "generate_steps", "target": "generate_steps", "prm": "score"}


@dataclass
class Replica:
    role: str
    index: int
    generation: int
    ranks: list = field(default_factory=list)  # actor handles, rank 0 first

    @property
    def method(self) -> str:
        return METHOD[self.role]

    def fanout(self, calls: list) -> list:
        """The same calls to every rank: one ref per rank, rank 0's first (it answers)."""
        return [getattr(r, self.method).remote(calls) for r in self.ranks]

    def release(self, request_ids: list[str]) -> None:
        """Forget finished requests on every rank (fire and forget: ordered before the next call)."""
        for r in self.ranks:
            r.release.remote(request_ids)

    def ready(self) -> list:
        """One ref per rank that resolves once its model is loaded (and sharded)."""
        return [r.info.remote() for r in self.ranks]

    def kill(self) -> None:
        for r in self.ranks:
            ray.kill(r, no_restart=True)


def _actor_class(role: str):
    from rsd_ray.actors.model_actors import GeneratorRank, PRMRank

    return PRMRank if role == "prm" else GeneratorRank


@ray.remote(num_cpus=0)
def _rank_envs(tp: int, accel: str) -> list[RankEnv]:
    return rank_envs(tp, accel)


async def start_replica(cfg: Config, role: str, index: int, generation: int, pg) -> Replica:
    """Create the rank actors of one replica in its placement group (not waiting for their models)."""
    m = getattr(cfg, role)
    on = lambda i: PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=i)  # noqa: E731
    envs: list[RankEnv | None] = [None]
    if m.tp > 1:
        # the address and port must be those of the replica's node: ask a task placed there
        envs = await _rank_envs.options(scheduling_strategy=on(0)).remote(m.tp, accelerator(m))
    bundle = rank_bundle(m)
    cls = ray.remote(_actor_class(role))
    ranks = [cls.options(num_cpus=bundle["CPU"], num_gpus=bundle.get("GPU", 0),
                         resources={k: v for k, v in bundle.items() if k not in ("CPU", "GPU")},
                         scheduling_strategy=on(i), max_restarts=0, max_concurrency=1,
                         name=None).remote(cfg, role, envs[i]) for i in range(m.tp)]
    return Replica(role, index, generation, ranks)

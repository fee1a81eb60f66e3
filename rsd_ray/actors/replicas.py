"""Replicas of a role and the supervisor that (re)creates them.

A replica is the group of rank actors that together hold one copy of a model
(one actor when tp = 1, N actors sharing a DeepSpeed AutoTP group
otherwise), inside its own placement group. A tensor-parallel group cannot
take back one restarted rank (its process group is gone), so recovery is per
replica: kill every rank, start them all again on a fresh port, re-shard.
The supervisor is the one place that does this; several coordinators may
share it, and a restart asked for twice (two coordinators saw the same
failure) happens once, by generation number.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import ray
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from rsd_ray.cluster.bootstrap import RankEnv, rank_envs
from rsd_ray.cluster.placement import accelerator, rank_bundle, replica_placement_group
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


@ray.remote(num_cpus=0)
class Supervisor:
    """Owns every replica; creates them, and replaces a failed one on request."""

    def __init__(self, cfg: Config, roles: list[str]):
        self.cfg = cfg
        self.pgs: dict[tuple[str, int], object] = {}
        self.replicas: dict[tuple[str, int], Replica] = {}
        self.locks: dict[tuple[str, int], asyncio.Lock] = {}
        self.restarts = 0
        for role in roles:
            for i in range(getattr(cfg, role).replicas):
                pg = replica_placement_group(getattr(cfg, role), f"rsd-{role}-{i}-{id(self)}")
                self.pgs[(role, i)] = pg
                self.locks[(role, i)] = asyncio.Lock()

    async def start(self, timeout_s: float) -> dict[str, list[Replica]]:
        """Start every replica and wait until each rank has loaded its model."""
        for pg in self.pgs.values():
            await asyncio.wait_for(pg.ready(), timeout_s)
        for (role, i), pg in self.pgs.items():
            self.replicas[(role, i)] = await start_replica(self.cfg, role, i, 0, pg)
        await asyncio.wait_for(asyncio.gather(*[r.info.remote() for rep in self.replicas.values()
                                                for r in rep.ranks]), timeout_s)
        return self.view()

    def view(self) -> dict[str, list[Replica]]:
        out: dict[str, list[Replica]] = {}
        for (role, i), rep in sorted(self.replicas.items()):
            out.setdefault(role, []).append(rep)
        return out

    async def restart(self, role: str, index: int, seen_generation: int, timeout_s: float) -> Replica:
        """Replace replica (role, index) unless someone already did since `seen_generation`."""
        async with self.locks[(role, index)]:
            rep = self.replicas[(role, index)]
            if rep.generation > seen_generation:
                return rep
            for a in rep.ranks:
                ray.kill(a, no_restart=True)
            new = await start_replica(self.cfg, role, index, rep.generation + 1, self.pgs[(role, index)])
            await asyncio.wait_for(asyncio.gather(*[r.info.remote() for r in new.ranks]), timeout_s)
            self.replicas[(role, index)] = new
            self.restarts += 1
            return new

    def restart_count(self) -> int:
        return self.restarts

    def shutdown(self) -> None:
        from ray.util.placement_group import remove_placement_group

        for rep in self.replicas.values():
            for a in rep.ranks:
                ray.kill(a, no_restart=True)
        for pg in self.pgs.values():
            remove_placement_group(pg)

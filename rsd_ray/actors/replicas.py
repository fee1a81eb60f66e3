"""The supervisor that (re)creates every role's replicas (actors/tp_group.py).

A tensor-parallel group cannot take back one restarted rank (its process
group is gone), so recovery is per replica: kill every rank, start them all
again on a fresh port, re-shard.
The supervisor is the one place that does this; several coordinators may
share it, and a restart asked for twice (two coordinators saw the same
failure) happens once, by generation number.
"""

from __future__ import annotations

import asyncio

import ray

from rsd_ray.actors.tp_group import Replica, start_replica
from rsd_ray.cluster.placement import replica_placement_group
from rsd_ray.config import Config

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
        await asyncio.wait_for(asyncio.gather(*[ref for rep in self.replicas.values() for ref in rep.ready()]),
                               timeout_s)
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
            rep.kill()
            new = await start_replica(self.cfg, role, index, rep.generation + 1, self.pgs[(role, index)])
            await asyncio.wait_for(asyncio.gather(*new.ready()), timeout_s)
            self.replicas[(role, index)] = new
            self.restarts += 1
            return new

    def restart_count(self) -> int:
        return self.restarts

    def shutdown(self) -> None:
        from ray.util.placement_group import remove_placement_group

        for rep in self.replicas.values():
            rep.kill()
        for pg in self.pgs.values():
            remove_placement_group(pg)

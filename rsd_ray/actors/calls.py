"""The replicas as a coordinator calls them: the one call path, with time-outs, restarts and releases.

Every call is bounded by `call_timeout_s`. A replica that fails or hangs is
replaced through the supervisor (which restarts a whole TP group, once, however
many coordinators saw the failure) and the same calls are sent again: they
carry their whole context, so a retry on a fresh replica gives the same greedy
output. After max_restarts + 1 failures in a row the role has given up:
RoleFailed. Finished requests are released on a replica before its next call
(fire and forget; Ray orders them before that caller's next call). Every
call is counted here too, for whichever coordinator makes it: its size and
seconds per role (stats) and the Ray metrics (actors/metrics.py).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from ray.exceptions import GetTimeoutError, RayActorError

from rsd_ray.actors.failures import RoleFailed
from rsd_ray.actors.metrics import CallMetrics
from rsd_ray.actors.tp_group import Replica


class ReplicaCalls:
    def __init__(self, supervisor, replicas: dict[str, list[Replica]], call_timeout_s: float, max_restarts: int,
                 start_timeout_s: float, metrics: CallMetrics):
        self.supervisor, self.replicas = supervisor, replicas
        self.timeout, self.max_restarts, self.start_timeout = call_timeout_s, max_restarts, start_timeout_s
        self.metrics = metrics
        self.retries = 0
        self.sizes: dict[str, Counter[int]] = {r: Counter() for r in replicas}  # role -> call size -> calls
        self.busy: Counter = Counter()  # role -> seconds its replicas spent in calls, summed
        self._release = {(role, i): [] for role, reps in replicas.items() for i in range(len(reps))}

    def release(self, request_ids: list[str]) -> None:
        """These requests are done: every replica may forget them (sent with its next flush)."""
        for ids in self._release.values():
            ids.extend(request_ids)

    def flush(self, role: str, idx: int) -> None:
        ids, self._release[(role, idx)] = self._release[(role, idx)], []
        if ids:
            self.replicas[role][idx].release(ids)

    async def call(self, role: str, idx: int, calls: list) -> list:
        """Every rank of replica idx gets the calls, rank 0 answers; a failure restarts the replica."""
        t0 = time.perf_counter()
        results = await self._call(role, idx, calls)
        self.busy[role] += (dt := time.perf_counter() - t0)
        self.sizes[role][len(calls)] += 1
        self.metrics.call(role, len(calls), dt, results)
        return results

    def stats(self) -> dict:
        return {"retries": self.retries, "busy_s": dict(self.busy),
                "batches": {r: dict(c) for r, c in self.sizes.items() if c}}

    async def _call(self, role: str, idx: int, calls: list) -> list:
        last: BaseException | None = None
        for _ in range(self.max_restarts + 1):
            rep = self.replicas[role][idx]
            self.flush(role, idx)
            try:
                return (await asyncio.wait_for(asyncio.gather(*rep.fanout(calls)), self.timeout))[0]
            except (RayActorError, GetTimeoutError, asyncio.TimeoutError) as e:
                last = e
                self.retries += 1
                self._release[(role, idx)] = []  # a fresh replica has nothing to release
                try:
                    self.replicas[role][idx] = await asyncio.wait_for(
                        self.supervisor.restart.remote(role, idx, rep.generation, self.start_timeout),
                        self.start_timeout + 60)
                except Exception as restart_error:  # noqa: BLE001
                    last = restart_error
        raise RoleFailed(role, idx, self.max_restarts + 1, last)

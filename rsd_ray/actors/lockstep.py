"""The lock-step coordinator (run.schedule: lockstep): the reference's rounds on the same replicas, a baseline.

The local scheduler's rounds (core/scheduler.drive with core/admission.py's
lock-step rule: a static batch, then one draft step for every unfinished
request, score them all, the target for the rejected, repeat), with every
engine call made through the one call path (actors/calls.py: time-outs,
restarts, releases). A round's calls for a role are split over that role's
replicas; the roles take turns, never working at once, as in the reference.
solve() calls run one at a time, each to its end, in a thread of their own:
the rounds are the local scheduler's synchronous loop, whose engine calls
hand their coroutines to the actor's event loop, which also answers
progress() and stats() meanwhile.
"""

from __future__ import annotations

import asyncio
import time

import ray

from rsd_ray.actors.calls import ReplicaCalls
from rsd_ray.actors.metrics import CallMetrics
from rsd_ray.actors.tp_group import Replica
from rsd_ray.core.journal import snapshot
from rsd_ray.core.request import TurnState
from rsd_ray.core.scheduler import drive


@ray.remote(num_cpus=0)
class LockstepCoordinator:
    def __init__(self, supervisor, replicas: dict[str, list[Replica]], batch_size: int, call_timeout_s: float,
                 max_restarts: int, start_timeout_s: float, index: int = 0):
        self.calls = ReplicaCalls(supervisor, replicas, call_timeout_s, max_restarts, start_timeout_s,
                                  CallMetrics(str(index)))
        self.batch_size, self.finished = batch_size, 0
        self._solving = asyncio.Lock()  # one solve() at a time: a static batch per call
        self._progress: list[dict] = []
        self._watched = 0.0

    def set_gate(self, gate) -> None:  # config validation refuses a target budget under lockstep
        assert gate is None, "run.schedule lockstep takes no target budget"

    async def solve(self, states: list[TurnState], budgeted: bool = False) -> list[TurnState]:
        loop = asyncio.get_running_loop()
        engines = {role: self._engine(role, loop) for role in self.calls.replicas}
        async with self._solving:
            out = await asyncio.to_thread(lambda: list(drive(
                states, self.batch_size, release=self.calls.release, watch=self._watch, lockstep=True, **engines)))
        self._progress, self.finished = [], self.finished + len(out)
        return out

    def _engine(self, role: str, loop: asyncio.AbstractEventLoop):
        def call(flat: list) -> list:  # in drive's thread: the calls run on the actor's loop
            n = len(self.calls.replicas[role])
            size = -(-len(flat) // n)
            chunks = [flat[i:i + size] for i in range(0, len(flat), size)]
            parts = asyncio.run_coroutine_threadsafe(self._gather(role, chunks), loop).result()
            return [r for part in parts for r in part]
        return call

    async def _gather(self, role: str, chunks: list[list]) -> list[list]:
        return await asyncio.gather(*(self.calls.call(role, i, c) for i, c in enumerate(chunks)))

    def _watch(self, active: list[TurnState]) -> None:  # snapshots for the journal, twice a second at most
        if time.perf_counter() - self._watched >= 0.5:
            self._progress, self._watched = list(filter(None, map(snapshot, active))), time.perf_counter()

    def progress(self) -> list[dict]:  # the committed steps of requests in flight: the driver's journal
        return self._progress

    def stats(self) -> dict:  # batches (per replica call), busy_s, retries: calls.py
        return {"finished": self.finished, **self.calls.stats()}

"""The coordinator: the local scheduler's states and policy (core/admission.py), driven asynchronously
(run.schedule: lockstep, the reference's rounds, is actors/lockstep.py). Each replica of each role
has a worker that takes the requests queued for its role, calls its replica, feeds the results back
and routes every request on, so draft, PRM and target work on different requests at once: no round.
Every call goes through one path (actors/calls.py: time-outs, restarts, releases); a role that keeps
failing ends every caller's run with its RoleFailed. Ray restarts a dead coordinator and re-sends its
solve() calls, whose states travel whole: a fresh one re-drives them from the start (engines re-sync).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import ray

from rsd_ray.actors.calls import ReplicaCalls
from rsd_ray.actors.failures import RoleFailed
from rsd_ray.actors.metrics import CallMetrics
from rsd_ray.actors.tp_group import Replica
from rsd_ray.core.admission import Admission
from rsd_ray.core.batching import calls_of, deliver
from rsd_ray.core.budget import BudgetGate
from rsd_ray.core.journal import snapshot
from rsd_ray.core.request import TurnState


@dataclass
class _Group:  # the states of one solve() call: its caller waits until all of them are finished
    size: int
    finished: list[TurnState] = field(default_factory=list)
    event: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, s: TurnState) -> None:
        self.finished.append(s)
        if len(self.finished) == self.size:
            self.event.set()


@ray.remote(num_cpus=0)
class Coordinator:
    """Several solve() calls may be in flight at once (Ray Data's stage): batches mix their requests."""

    def __init__(self, supervisor, replicas: dict[str, list[Replica]], batch_size: int, call_timeout_s: float,
                 max_restarts: int, start_timeout_s: float, min_target_batch: int = 1, max_in_flight: int = 0,
                 index: int = 0):
        self.roles = {role: len(reps) for role, reps in replicas.items()}
        self.metrics, self.index, self.finished = CallMetrics(str(index)), index, 0
        self.calls = ReplicaCalls(supervisor, replicas, call_timeout_s, max_restarts, start_timeout_s, self.metrics)
        self.adm = Admission(batch_size, max_in_flight, min_target_batch)
        self._group_of: dict[int, _Group] = {}  # id(state) -> its caller's group
        self._moved: list[asyncio.Future] = []  # a gathering target worker, waiting for the next routing
        self._failure: BaseException | None = None
        self._workers: list[asyncio.Task] = []  # with their locks and queues, made in the actor's loop (solve)

    def set_gate(self, gate: BudgetGate | None) -> None:  # the online target budget of the pass starting now
        self.adm.gate = gate

    async def solve(self, states: list[TurnState], budgeted: bool = False) -> list[TurnState]:
        if budgeted and self.adm.gate is None:  # restarted mid-pass (Ray re-sent the call): the budget died
            self._failure = RoleFailed("coordinator", self.index, 1, "restarted during a pass with a target budget")
        if self._failure is None:
            if not self._workers:
                self._taking, self._queues = {r: asyncio.Lock() for r in self.roles}, {r: asyncio.Queue() for r in self.roles}
                self._workers = [asyncio.create_task(self._worker(role, i))
                                 for role, n in self.roles.items() for i in range(n)]
            group = _Group(len(states))
            self._group_of.update((id(s), group) for s in states)
            self.adm.add(states)
            self._admit()
            if states:
                await group.event.wait()
        if self._failure is not None:
            raise self._failure
        return group.finished

    def _admit(self) -> None:  # what the policy lets start; a parked request may free a place: until none
        while started := self.adm.admit():
            for s in started:
                if s.done:  # failed before it started (a bad row): never in flight
                    self._group_of.pop(id(s)).add(s)
                else:
                    self._route(s)
        for f in self._moved:  # a gathering target worker looks again
            f.done() or f.set_result(None)
        self._moved.clear()

    def _route(self, s: TurnState) -> None:
        if not s.done and s.need not in self._queues:
            s.fail(f"needs the {s.need} role, which this run did not start")
        if not s.done:
            self.adm.enter(s.need)  # type: ignore[arg-type]
            return self._queues[s.need].put_nowait(s)  # type: ignore[index]
        self.finished += 1  # stats
        if self.adm.finish(s):  # not superseded by a re-sent call: its ids are free
            self.calls.release(s.release_ids())
        self._group_of.pop(id(s)).add(s)

    async def _take(self, role: str) -> tuple[list[TurnState], list[list]]:
        """The next batch and its calls (filled by calls: a beam makes several); the target's may gather."""
        q = self._queues[role]
        # one worker of a role takes at a time: target replicas would split the requests gathered
        async with self._taking[role]:
            batch = [await q.get()]
            while role == "target" and self.adm.gathering and not self.adm.call_target(q.qsize() + 1):
                self._moved.append(f := asyncio.get_running_loop().create_future())
                await f
            calls = calls_of(role, batch)
            while sum(map(len, calls)) < self.adm.batch_size and not q.empty():
                batch.append(q.get_nowait())
                calls += calls_of(role, batch[-1:])
        for s in [s for s in batch if s.done]:  # superseded while queued: gone, never called
            self.adm.leave(role)
            self._route(s)
        return [s for s in batch if not s.done], [c for s, c in zip(batch, calls) if not s.done]

    async def _worker(self, role: str, idx: int) -> None:
        try:
            while True:
                batch, calls = await self._take(role)
                if not batch:
                    continue
                flat = [c for cs in calls for c in cs]
                results = await self.calls.call(role, idx, flat)
                deliver(role, batch, calls, results)
                for s in batch:
                    self.adm.leave(role)
                    self._route(s)
                self._admit()
                self.calls.flush(role, idx)
                self.metrics.load(self.adm.live, self.adm.queued)
        except Exception as e:  # a role that cannot be recovered ends every caller's run (not a cancel)
            self._failure = e
            for group in self._group_of.values():
                group.event.set()

    def progress(self) -> list[dict]:  # the committed steps of requests in flight: the driver's journal
        return list(filter(None, map(snapshot, self.adm.newest())))

    def stats(self) -> dict:  # batches, busy_s, retries: calls.py; forced: target calls under min_target_batch
        a = self.adm
        return {"finished": self.finished, "live": a.live, "queued": a.queued, "most_live": a.most_live,
                "forced_target_calls": a.forced, **self.calls.stats()}

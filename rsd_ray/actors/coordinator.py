"""The coordinator: per-request state, step-level continuous batching, routing, retries.

It drives the same pure state machine as the local scheduler, but never
waits for a round: each replica of each role has a worker that takes
whatever requests are queued for its role (up to the batch size), calls its
replica, feeds the results back and routes every request to its next role.
So draft, PRM and target work on different requests at the same time, and
requests join and leave one step at a time. Every remote call is bounded by
a time-out; a failed or hung replica is restarted through the supervisor and
the batch retried (calls carry their whole context, so a retry on a fresh
replica is always safe). A role that keeps failing ends the run with an
error that names it.

`min_target_batch` (rsd) is the local scheduler's rule in this asynchronous
setting: an idle target worker holds the first rejected request until k wait
for the target, or until no live request is queued for or inside the draft
or the PRM (then nothing else could join the call). A target call costs
nearly as much for a few requests as for many, so gathering them saves
target time; results do not change (each request's steps depend only on its
own context). Requests owned by the target (parked or inside its call) do
not count toward batch_size then, up to `max_in_flight` in all, as in the
local scheduler: the draft and the PRM keep full batches meanwhile.

With an online target budget (`set_gate`, core/budget.py) pending requests
are admitted in input order (by seq) and only once the gate knows their delta.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, deque
from dataclasses import dataclass, field

import ray
from ray.exceptions import GetTimeoutError, RayActorError

from rsd_ray.actors.metrics import CallMetrics
from rsd_ray.actors.replicas import Replica
from rsd_ray.core.budget import BudgetGate
from rsd_ray.core.request import RequestState


class RoleFailed(RuntimeError):
    pass


@dataclass
class _Group:
    """The states of one solve() call: its caller waits until all of them are finished."""

    size: int
    finished: list[RequestState] = field(default_factory=list)
    event: asyncio.Event = field(default_factory=asyncio.Event)


@ray.remote(num_cpus=0)
class Coordinator:
    """Several solve() calls may be in flight at once (Ray Data's map stage sends them):
    their requests share the same queues, so batches mix requests of every caller."""

    def __init__(self, supervisor, replicas: dict[str, list[Replica]], batch_size: int, call_timeout_s: float,
                 max_restarts: int, start_timeout_s: float, min_target_batch: int = 1, max_in_flight: int = 0,
                 index: int = 0):
        self.supervisor = supervisor
        self.replicas = replicas
        self.batch_size = batch_size
        self.timeout = call_timeout_s
        self.max_restarts = max_restarts
        self.start_timeout = start_timeout_s
        self.min_target_batch = min_target_batch
        self.max_in_flight = max(batch_size, max_in_flight)
        self._owned: Counter[str] = Counter()  # requests queued for or inside each role's calls
        self._moved: list[asyncio.Future] = []  # target workers waiting for the next routing
        self._batches: dict[str, Counter[int]] = {}  # role -> call size -> calls (stats)
        self._forced = 0  # target calls under min_target_batch because nothing else could move
        self._admitting = False
        self._most_live = 0
        self._gathering: asyncio.Lock | None = None  # made in the actor's event loop (_start_workers)
        self.retries = 0
        self.finished = 0
        self._release: dict[tuple[str, int], list[str]] = {}
        self._queues: dict[str, asyncio.Queue] = {}
        self._pending: deque[tuple[RequestState, _Group]] = deque()
        self._group_of: dict[int, _Group] = {}  # id(state) -> its caller's group
        self._live = 0
        self._failure: BaseException | None = None
        self._workers: list[asyncio.Task] = []
        self._gate: BudgetGate | None = None
        self.metrics = CallMetrics(str(index))

    def set_gate(self, gate: BudgetGate | None) -> None:
        """The online target budget of the pass that starts now (None: none)."""
        self._gate = gate

    async def solve(self, states: list[RequestState]) -> list[RequestState]:
        if self._failure is not None:
            raise self._failure
        self._start_workers()
        group = _Group(len(states))
        self._pending.extend((s, group) for s in states)
        if self._gate is not None:  # input order: the lowest waiting row's windows are always in flight
            self._pending = deque(sorted(self._pending, key=lambda p: p[0].seq))
        self._admit()
        if states:
            await group.event.wait()
        if self._failure is not None:
            raise self._failure
        return group.finished

    def _start_workers(self) -> None:
        if not self._workers:
            self._gathering = asyncio.Lock()
            self._queues = {role: asyncio.Queue() for role in self.replicas}
            self._workers = [asyncio.create_task(self._worker(role, i))
                             for role in self.replicas for i in range(len(self.replicas[role]))]

    def _load(self) -> int:
        """What counts toward batch_size: requests owned by the target do not, while gathering."""
        moving = self._live - self._owned["target"]
        return moving if self.min_target_batch > 1 and moving > 0 else self._live

    def _admit(self) -> None:
        if self._admitting:  # re-entered through _route (a finished or failed state): the outer loop goes on
            return
        self._admitting = True
        try:
            self._admit_some()
        finally:
            self._admitting = False

    def _admit_some(self) -> None:
        gate = self._gate
        while self._pending and self._load() < self.batch_size and self._live < self.max_in_flight:
            s, group = self._pending[0]
            if gate is not None and not s.done and not gate.ready(s):
                break
            self._pending.popleft()
            if s.done:  # failed before it started (a bad row)
                if gate is not None:
                    gate.finish(s)
                group.finished.append(s)
                self._check(group)
                continue
            if gate is not None:
                gate.start(s)
            self._live += 1
            self._most_live = max(self._most_live, self._live)
            self._group_of[id(s)] = group
            self._route(s)

    def _route(self, s: RequestState) -> None:
        if not s.done:
            if s.need in self._queues:
                self._queues[s.need].put_nowait(s)  # type: ignore[index]
                self._owned[s.need] += 1
                if s.need == "target" and self.min_target_batch > 1:
                    self._admit()  # a parked request frees its place in the draft's and PRM's batches
                self._wake()
                return
            s.fail(f"needs the {s.need} role, which this run did not start")
        self._live -= 1
        self.finished += 1
        if self._gate is not None:
            self._gate.finish(s)
        group = self._group_of.pop(id(s))
        group.finished.append(s)
        for key in self._release_keys():
            self._release.setdefault(key, []).extend(s.release_ids())
        self._check(group)
        self._admit()
        self._wake()

    def _wake(self) -> None:
        for f in self._moved:
            if not f.done():
                f.set_result(None)
        self._moved.clear()

    def _others_can_move(self) -> bool:
        return any(n > 0 for role, n in self._owned.items() if role != "target")

    async def _gather_target(self, q: asyncio.Queue) -> None:
        """Hold the target call until min_target_batch requests wait, or nothing else can move."""
        while q.qsize() + 1 < self.min_target_batch:
            if not self._others_can_move():
                self._forced += 1
                return
            f = asyncio.get_running_loop().create_future()
            self._moved.append(f)
            await f

    @staticmethod
    def _check(group: _Group) -> None:
        if len(group.finished) == group.size:
            group.event.set()

    async def _take(self, role: str, q: asyncio.Queue, gather: bool) -> tuple[list[RequestState], list[list]]:
        """The next batch of states for a role, and their calls; a state may make several calls a
        turn (beam search), so batches fill by calls."""
        batch = [await q.get()]
        if gather:
            await self._gather_target(q)
        calls = [self._calls(role, batch[0])]
        while sum(map(len, calls)) < self.batch_size and not q.empty():
            batch.append(q.get_nowait())
            calls.append(self._calls(role, batch[-1]))
        return batch, calls

    async def _worker(self, role: str, idx: int) -> None:
        q = self._queues[role]
        try:
            while True:
                # one target worker gathers at a time, or target replicas split the waiting requests
                gathering = role == "target" and self.min_target_batch > 1
                async with self._gathering if gathering else contextlib.nullcontext():
                    batch, calls = await self._take(role, q, gathering)
                flat = [c for cs in calls for c in cs]
                self._batches.setdefault(role, Counter())[len(flat)] += 1
                t0 = time.perf_counter()
                results = await self._call(role, idx, flat)
                self.metrics.call(role, len(flat), time.perf_counter() - t0, results)
                at = 0
                for s, cs in zip(batch, calls):
                    mine, at = results[at:at + len(cs)], at + len(cs)
                    {"draft": s.on_drafts, "target": s.on_targets, "prm": s.on_scores}[role](mine)
                    self._owned[role] -= 1
                    self._route(s)
                self._flush(role, idx)
                self.metrics.load(self._live, len(self._pending))
        except asyncio.CancelledError:
            raise
        except BaseException as e:  # a role that cannot be recovered ends every caller's run
            self._failure = e
            for group in {id(g): g for g in self._group_of.values()}.values():
                group.event.set()
            for _, group in self._pending:
                group.event.set()

    def _release_keys(self):
        return [(role, i) for role, reps in self.replicas.items() for i in range(len(reps))]

    def _flush(self, role: str, idx: int) -> None:
        ids = self._release.pop((role, idx), None)
        if ids:
            for r in self.replicas[role][idx].ranks:
                r.release.remote(ids)  # fire and forget: ordered before this caller's next call

    @staticmethod
    def _calls(role: str, s: RequestState) -> list:
        return s.score_calls() if role == "prm" else s.step_calls()

    async def _call(self, role: str, idx: int, calls: list):
        last: BaseException | None = None
        for _ in range(self.max_restarts + 1):
            rep = self.replicas[role][idx]
            self._flush(role, idx)
            refs = [getattr(r, rep.method).remote(calls) for r in rep.ranks]
            try:
                results = await asyncio.wait_for(asyncio.gather(*refs), self.timeout)
                return results[0]  # every rank computed the same; rank 0 answers
            except (RayActorError, GetTimeoutError, asyncio.TimeoutError) as e:
                last = e
                self.retries += 1
                self._release.pop((role, idx), None)  # a fresh replica has nothing to release
                try:
                    self.replicas[role][idx] = await asyncio.wait_for(
                        self.supervisor.restart.remote(role, idx, rep.generation, self.start_timeout),
                        self.start_timeout + 60)
                except Exception as restart_error:  # noqa: BLE001
                    last = restart_error
        raise RoleFailed(f"the {role} role (replica {idx}) failed {self.max_restarts + 1} times; "
                         f"last error: {type(last).__name__}: {str(last).splitlines()[0] if str(last) else ''}")

    def stats(self) -> dict:
        """Progress and retries so far (served while solve() runs: this is an async actor)."""
        return {"finished": self.finished, "retries": self.retries, "live": self._live, "queued": len(self._pending),
                "most_live": self._most_live,
                # per role: call size -> number of calls; forced: target calls sent under min_target_batch
                # because no other request could move
                "batches": {role: dict(c) for role, c in self._batches.items()}, "forced_target_calls": self._forced}

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
"""

from __future__ import annotations

import asyncio

import ray
from ray.exceptions import GetTimeoutError, RayActorError

from rsd_ray.actors.replicas import Replica
from rsd_ray.core.request import RequestState


class RoleFailed(RuntimeError):
    pass


@ray.remote(num_cpus=0)
class Coordinator:
    def __init__(self, supervisor, replicas: dict[str, list[Replica]], batch_size: int, call_timeout_s: float,
                 max_restarts: int, start_timeout_s: float):
        self.supervisor = supervisor
        self.replicas = replicas
        self.batch_size = batch_size
        self.timeout = call_timeout_s
        self.max_restarts = max_restarts
        self.start_timeout = start_timeout_s
        self.retries = 0
        self.finished = 0
        self._release: dict[tuple[str, int], list[str]] = {}

    async def solve(self, states: list[RequestState]) -> list[RequestState]:
        roles = list(self.replicas)
        queues: dict[str, asyncio.Queue] = {r: asyncio.Queue() for r in roles}
        finished: list[RequestState] = []
        pending = iter(states)
        live = 0
        all_done = asyncio.Event()
        failure: list[BaseException] = []

        def admit() -> None:
            nonlocal live
            for s in pending:
                if s.done:
                    finished.append(s)
                    continue
                live += 1
                queues[s.need].put_nowait(s)  # type: ignore[index]
                if live >= self.batch_size:
                    break
            if live == 0:
                all_done.set()

        def route(s: RequestState) -> None:
            nonlocal live
            if not s.done:
                if s.need not in queues:
                    s.fail(f"needs the {s.need} role, which this run did not start")
                else:
                    queues[s.need].put_nowait(s)
                    return
            live -= 1
            finished.append(s)
            self.finished += 1
            for key in self._release_keys():
                self._release.setdefault(key, []).append(s.request.id)
            admit()

        async def worker(role: str, idx: int) -> None:
            q = queues[role]
            try:
                while True:
                    batch = [await q.get()]
                    while len(batch) < self.batch_size and not q.empty():
                        batch.append(q.get_nowait())
                    results = await self._call(role, idx, batch)
                    for s, res in zip(batch, results):
                        {"draft": s.on_draft, "target": s.on_target, "prm": s.on_score}[role](res)
                        route(s)
            except asyncio.CancelledError:
                raise
            except BaseException as e:  # a role that cannot be recovered ends the run
                failure.append(e)
                all_done.set()

        admit()
        tasks = [asyncio.create_task(worker(role, i)) for role in roles for i in range(len(self.replicas[role]))]
        await all_done.wait()
        for t in tasks:
            t.cancel()
        self._flush_all()
        if failure:
            raise failure[0]
        return finished

    def _release_keys(self):
        return [(role, i) for role, reps in self.replicas.items() for i in range(len(reps))]

    def _flush(self, role: str, idx: int) -> None:
        ids = self._release.pop((role, idx), None)
        if ids:
            for r in self.replicas[role][idx].ranks:
                r.release.remote(ids)  # fire and forget: ordered before this caller's next call

    def _flush_all(self) -> None:
        for role, i in self._release_keys():
            self._flush(role, i)

    async def _call(self, role: str, idx: int, batch: list[RequestState]):
        calls = [s.score_call() if role == "prm" else s.step_call() for s in batch]
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
        return {"finished": self.finished, "retries": self.retries}

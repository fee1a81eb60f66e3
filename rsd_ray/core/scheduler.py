"""Step-level continuous batching, synchronous: the scheduler the Ray backend is checked against.

Requests join as others finish (up to `batch_size` in flight) and leave the
moment they finish; in each round every role gets one batched call with the
requests that need it, at most `batch_size`, those that waited longest first
(the rest wait a round: a split-off call of a few costs nearly a full one;
core/batching.fill). The Ray coordinator follows the same protocol with
its calls in flight at once; this one runs in one process (`--backend local`)
and is what equivalence tests compare against. A state may make several calls
in a turn (beam search): they go out flattened with every other state's, and
each state gets its own results back.

What may start and when the target is called (min_target_batch, parked
requests, the online budget's gate, the lock-step baseline) is
core/admission.py, shared with the coordinators.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from rsd_ray.core.admission import Admission
from rsd_ray.core.batching import deliver, fill
from rsd_ray.core.budget import BudgetGate
from rsd_ray.core.records import ScoreCall, ScoreResult, StepCall, StepResult
from rsd_ray.core.request import TurnState

Generate = Callable[[list[StepCall]], list[StepResult]]
Score = Callable[[list[ScoreCall]], list[ScoreResult]]


def drive(requests: Iterable[TurnState], batch_size: int, draft: Generate | None = None,
          target: Generate | None = None, prm: Score | None = None,
          release: Callable[[list[str]], None] | None = None,
          min_target_batch: int = 1, max_in_flight: int = 0, gate: BudgetGate | None = None,
          watch: Callable[[list[TurnState]], None] | None = None,
          lockstep: bool = False) -> Iterator[TurnState]:
    """Run every request to its end; yields each as soon as it finishes. `watch` sees the requests
    in flight after every round (the step journal). `lockstep`: the reference's rounds (admission.py)."""
    adm = Admission(batch_size, max_in_flight, min_target_batch, gate, lockstep)  # callers pass RunConfig.in_flight_cap()
    adm.add(requests)
    active: list[TurnState] = []
    engines = {"draft": draft, "prm": prm, "target": target}
    while True:
        adm.owned = Counter(r.need for r in active)
        for s in adm.admit():
            if s.done:
                yield s
            else:
                active.append(s)
        if not active:
            if (held := adm.held()) is not None:
                raise RuntimeError(f"the target budget's gate holds request {held.request.id} with nothing in flight")
            return
        for role, engine in engines.items():
            batch = [r for r in active if r.need == role]
            if not batch:
                continue
            if role == "target":
                adm.owned = Counter(r.need for r in active)
                if not adm.call_target(len(batch)):
                    continue  # let rejected requests gather for a fuller target call
            if engine is None:
                raise RuntimeError(f"a request needs the {role} model, which this mode did not load")
            batch, per = fill(role, batch, batch_size)
            served = set(map(id, batch))  # to the back: who waited goes first next round
            active = [r for r in active if id(r) not in served] + batch
            flat = [c for calls in per for c in calls]  # beams' turns: several calls each, in calls of batch_size
            deliver(role, batch, per, [res for i in range(0, len(flat), batch_size)
                                       for res in engine(flat[i:i + batch_size])])
        if watch is not None:
            watch(active)
        finished = [r for r in active if r.done]
        if finished:
            active = [r for r in active if not r.done]
            if release is not None:
                release([i for r in finished for i in r.release_ids()])
            for r in finished:
                adm.finish(r)
            yield from finished

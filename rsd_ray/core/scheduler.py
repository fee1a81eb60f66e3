"""Step-level continuous batching, synchronous: the reference scheduler.

Requests join as others finish (up to `batch_size` in flight) and leave the
moment they finish; in each round every role gets one batched call with all
the requests that need it. The Ray coordinator follows the same protocol with
its calls in flight at once; this one runs in one process (`--backend local`)
and is what equivalence tests compare against. A state may make several calls
in a turn (beam search): they go out flattened with every other state's, in
engine calls of at most `batch_size`, and each state gets its own results back.

`min_target_batch` (rsd): a target call costs nearly as much for a few
requests as for a full batch (per-call and per-token overhead), and in rsd only
the rejected share needs the target in a round. With min_target_batch = k the
target is called only once k requests wait for it, or when nothing else can
move (no active request needs the draft or the PRM); meanwhile the others keep
drafting. Results do not change (each request's steps depend on its own
context only), only how target work is batched. 1 calls it every round.

`max_in_flight` (with min_target_batch > 1): a parked request costs no
compute until its target call, only memory. Counting it toward batch_size
would shrink every draft and PRM call while it waits, so it does not count:
requests are admitted until batch_size of them can move, with at most
max_in_flight in flight in all (RunConfig.in_flight_cap: by default one
target call's worth of parked requests beyond batch_size). No engine call
ever exceeds batch_size, and modes whose every request needs the same role
(target-only among them) are unaffected.

`gate` (the online target budget, core/budget.py): a request is admitted only
once the gate says its delta is known; admission stays in input order, so a
waiting request only holds back the ones after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from rsd_ray.core.records import ScoreCall, ScoreResult, StepCall, StepResult
from rsd_ray.core.budget import BudgetGate
from rsd_ray.core.request import RequestState

Generate = Callable[[list[StepCall]], list[StepResult]]
Score = Callable[[list[ScoreCall]], list[ScoreResult]]


def drive(requests: Iterable[RequestState], batch_size: int, draft: Generate | None = None,
          target: Generate | None = None, prm: Score | None = None,
          release: Callable[[list[str]], None] | None = None,
          min_target_batch: int = 1, max_in_flight: int = 0, gate: BudgetGate | None = None) -> Iterator[RequestState]:
    """Run every request to its end; yields each as soon as it finishes."""
    pending = iter(requests)
    active: list[RequestState] = []
    exhausted = False
    held: RequestState | None = None  # the next request, waiting for the gate
    cap = max(batch_size, max_in_flight)  # callers pass RunConfig.in_flight_cap()

    def load() -> int:  # what counts toward batch_size: parked requests do not (see above)
        moving = sum(r.need != "target" for r in active)
        return moving if min_target_batch > 1 and moving else len(active)

    while True:
        while not exhausted and load() < batch_size and len(active) < cap:
            nxt, held = held or next(pending, None), None
            if nxt is None:
                exhausted = True
            elif nxt.done:  # failed before it started (a bad row)
                if gate is not None:
                    gate.finish(nxt)
                yield nxt
            elif gate is not None and not gate.ready(nxt):
                held = nxt
                break
            else:
                if gate is not None:
                    gate.start(nxt)
                active.append(nxt)
        if not active:
            if held is not None:  # every earlier request is finished: only missing rows could hold it
                raise RuntimeError(f"the target budget's gate holds request {held.request.id} with nothing in flight")
            return
        for role, engine in (("draft", draft), ("prm", prm), ("target", target)):
            batch = [r for r in active if r.need == role]
            if not batch:
                continue
            if role == "target" and len(batch) < min_target_batch and any(
                    r.need in ("draft", "prm") for r in active):
                continue  # let rejected requests gather for a fuller target call
            if engine is None:
                raise RuntimeError(f"a request needs the {role} model, which this mode did not load")
            # A state may ask for several calls in one turn (beam search): flatten
            # them, call the engine in chunks of at most batch_size, hand back each
            # state's own slice in order.
            per = [r.score_calls() if role == "prm" else r.step_calls() for r in batch]
            flat = [c for calls in per for c in calls]
            results = [res for i in range(0, len(flat), batch_size) for res in engine(flat[i:i + batch_size])]
            at = 0
            for r, calls in zip(batch, per):
                mine, at = results[at:at + len(calls)], at + len(calls)
                {"draft": r.on_drafts, "target": r.on_targets, "prm": r.on_scores}[role](mine)
        finished = [r for r in active if r.done]
        if finished:
            active = [r for r in active if not r.done]
            if release is not None:
                release([i for r in finished for i in r.release_ids()])
            if gate is not None:
                for r in finished:
                    gate.finish(r)
            yield from finished

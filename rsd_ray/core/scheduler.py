"""Step-level continuous batching, synchronous: the reference scheduler.

Requests join as others finish (up to `batch_size` in flight) and leave the
moment they finish; in each round every role gets one batched call with all
the requests that need it. The Ray coordinator follows the same protocol with
its calls in flight at once; this one runs in one process (`--backend local`)
and is what equivalence tests compare against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from rsd_ray.core.records import ScoreCall, ScoreResult, StepCall, StepResult
from rsd_ray.core.request import RequestState

Generate = Callable[[list[StepCall]], list[StepResult]]
Score = Callable[[list[ScoreCall]], list[ScoreResult]]


def drive(requests: Iterable[RequestState], batch_size: int, draft: Generate | None = None,
          target: Generate | None = None, prm: Score | None = None,
          release: Callable[[list[str]], None] | None = None) -> Iterator[RequestState]:
    """Run every request to its end; yields each as soon as it finishes."""
    pending = iter(requests)
    active: list[RequestState] = []
    exhausted = False
    while True:
        while not exhausted and len(active) < batch_size:
            nxt = next(pending, None)
            if nxt is None:
                exhausted = True
            elif nxt.done:  # failed before it started (a bad row)
                yield nxt
            else:
                active.append(nxt)
        if not active:
            return
        for role, engine in (("draft", draft), ("prm", prm), ("target", target)):
            batch = [r for r in active if r.need == role]
            if not batch:
                continue
            if engine is None:
                raise RuntimeError(f"a request needs the {role} model, which this mode did not load")
            if role == "prm":
                for r, res in zip(batch, engine([r.score_call() for r in batch])):
                    r.on_score(res)
            else:
                results = engine([r.step_call() for r in batch])
                for r, res in zip(batch, results):
                    (r.on_draft if role == "draft" else r.on_target)(res)
        finished = [r for r in active if r.done]
        if finished:
            active = [r for r in active if not r.done]
            if release is not None:
                release([r.request.id for r in finished])
            yield from finished

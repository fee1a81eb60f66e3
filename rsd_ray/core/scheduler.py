"""Step-level continuous batching, synchronous: the reference scheduler.

Requests join as others finish (up to `batch_size` in flight) and leave the
moment they finish; in each round every role gets one batched call with all
the requests that need it. The Ray coordinator follows the same protocol with
its calls in flight at once; this one runs in one process (`--backend local`)
and is what equivalence tests compare against. A state may make several calls
in a turn (beam search): they go out flattened with every other state's, in
engine calls of at most `batch_size`, and each state gets its own results back.
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
            yield from finished

"""Timing the engines of a LocalBackend per role, and keeping the draft's steps for the PRM's own pass."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

from rsd_ray.core.records import ScoreCall, StepCall, StepResult


class Timers:
    """Wall time, CPU time, calls and items per role, accumulated around each engine's entry point."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.items: dict[str, int] = defaultdict(int)

    def wrap(self, role: str, fn: Callable[[list], list]) -> Callable[[list], list]:
        def timed(calls: list) -> list:
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(calls)
            finally:
                self.wall[role] += time.perf_counter() - t0
                self.cpu[role] += time.process_time() - c0
                self.calls[role] += 1
                self.items[role] += len(calls)
        return timed


class DraftLog:
    """While `calls` is a list, every draft call's steps as the PRM calls rsd would make for them.

    One list per draft call, so a replay batches the PRM as rsd does: rsd scores a
    round's draft steps in one call right after the draft call that wrote them.
    """

    def __init__(self) -> None:
        self.calls: list[list[ScoreCall]] | None = None

    def wrap(self, fn: Callable[[list[StepCall]], list[StepResult]]) -> Callable[[list[StepCall]], list[StepResult]]:
        def logged(calls: list[StepCall]) -> list[StepResult]:
            results = fn(calls)
            if self.calls is not None:
                self.calls.append([ScoreCall(c.request_id, c.problem, c.steps + (r.text,))
                                   for c, r in zip(calls, results) if r.error is None])
            return results
        return logged


class ForwardSplit:
    """The target model's forwards, timed apart: those that read context (prefill: a prompt, catch-up
    with accepted draft steps, the first token of a step) and the one-token decode forwards."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.seconds = {"prefill": 0.0, "decode": 0.0}
        self.tokens = {"prefill": 0, "decode": 0}  # prefill: real tokens (not padding); decode: rows fed, finished ones too

    def wrap(self, forward: Callable) -> Callable:
        def timed(*args, **kwargs):
            ids, mask = kwargs["input_ids"], kwargs["attention_mask"]
            kind = "decode" if ids.shape[1] == 1 else "prefill"
            t0 = time.perf_counter()
            try:
                return forward(*args, **kwargs)
            finally:
                self.seconds[kind] += time.perf_counter() - t0
                self.tokens[kind] += int(mask[:, -ids.shape[1]:].sum()) if kind == "prefill" else ids.shape[0]
        return timed


def instrument(backend, timers: Timers, log: DraftLog, split: ForwardSplit | None = None) -> None:
    """Time every draft, target and PRM call (instance attributes shadow the methods); log the draft's.

    The log sits outside the draft's timer: building its records is not the draft's cost."""
    for role, method in (("draft", "generate_steps"), ("target", "generate_steps"), ("prm", "score")):
        engine = getattr(backend, role)
        if engine is not None:
            setattr(engine, method, timers.wrap(role, getattr(engine, method)))
    backend.draft.generate_steps = log.wrap(backend.draft.generate_steps)
    if split is not None:
        model = backend.target.model
        model.forward = split.wrap(model.forward)

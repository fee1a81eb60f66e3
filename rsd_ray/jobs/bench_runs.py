"""The bench's timed runs: target-only, draft-only, the PRM alone over draft-only's steps, rsd, and rsd lock-step.

Each role's per-step cost comes from a run where that role works alone at
full batch: the target in target-only, the draft in draft-only, and the PRM
in a pass of its engine over the steps draft-only just wrote, one PRM call per
draft call (as rsd makes them), each request released after its last step (as
rsd releases finished requests). rsd's own role times are recorded beside
them but never price the bound. "lockstep" is rsd on the same engines under
the reference's schedule (run.schedule: lockstep, core/admission.py): the
baseline of `vs_lockstep`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rsd_ray.core.records import ScoreCall
from rsd_ray.jobs.bench_timing import DraftLog, ForwardSplit, Timers, instrument

# Rotation order: drift on a shared machine hits every mode alike; "prm" follows
# "draft" because it replays that repetition's draft steps.
ROTATION = ("target", "draft", "prm", "rsd", "lockstep")
SOLVED = ("target", "draft", "rsd")  # modes the backend solves (and whose answers are graded)
SCHEDULES = {"continuous": "rsd", "lockstep": "lockstep"}  # rsd's two schedules: the bench mode of each


def _timed(run: Callable[[], dict], timers: Timers, split: ForwardSplit | None = None) -> dict:
    timers.reset()
    split = split or ForwardSplit()
    split.reset()
    t0, c0 = time.perf_counter(), time.process_time()
    out = run()
    return {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0, **out,
            "role_wall_s": dict(timers.wall), "role_cpu_s": dict(timers.cpu),
            "role_calls": dict(timers.calls), "role_items": dict(timers.items),
            "target_forward_s": dict(split.seconds), "target_forward_tokens": dict(split.tokens)}


def solve_once(backend, rows: list, cfg, mode: str, timers: Timers, split: ForwardSplit | None = None) -> dict:
    from dataclasses import replace

    from rsd_ray.core.stats import Counters
    from rsd_ray.runner.modes import make_states

    if mode == "lockstep":  # the same engines (and timers), the reference's rounds
        backend, mode = replace(backend, lockstep=True), "rsd"
    states = make_states(rows, cfg, mode)

    def run() -> dict:
        done = backend.solve(states)
        c = Counters()
        for s in done:
            c += s.counters
        return {"steps": sum(len(s.steps) for s in done), "errors": sum(s.error is not None for s in done),
                **c.as_dict(), "responses": {s.request.id: s.response for s in done}}
    return _timed(run, timers, split)


def score_once(prm, calls: list[list[ScoreCall]], timers: Timers) -> dict:
    """The PRM alone over logged draft calls: steps scored, errors, tokens read."""
    last = {c.request_id: i for i, batch in enumerate(calls) for c in batch}

    def run() -> dict:
        errors = tokens = 0
        for i, batch in enumerate(calls):
            for r in prm.score(batch):
                errors += r.error is not None
                tokens += r.tokens
            prm.release([c.request_id for c in batch if last[c.request_id] == i])
        return {"steps": sum(len(b) for b in calls), "errors": errors, "tokens_prm": tokens}
    return _timed(run, timers)


def rotation(backend, rows: list, cfg, timers: Timers, log: DraftLog, split: ForwardSplit) -> dict[str, dict]:
    """One repetition of every mode, in ROTATION order."""
    out: dict[str, dict] = {}
    for mode in ROTATION:
        if mode == "prm":
            out[mode] = score_once(backend.prm, log.calls or [], timers)
            continue
        log.calls = [] if mode == "draft" else None
        out[mode] = solve_once(backend, rows, cfg, mode, timers, split)
    log.calls = None
    return out


def measure(backend, rows: list, cfg, reps: int, warmup_rows: int, log=print) -> dict[str, list[dict]]:
    """A warm-up rotation (first calls, allocator, caches), then `reps` timed ones: every mode's runs."""
    timers, draft_log, split = Timers(), DraftLog(), ForwardSplit()
    instrument(backend, timers, draft_log, split)
    rotation(backend, rows[:warmup_rows], cfg, timers, draft_log, split)
    runs: dict[str, list[dict]] = {m: [] for m in ROTATION}
    for r in range(reps):
        for mode, out in rotation(backend, rows, cfg, timers, draft_log, split).items():
            runs[mode].append(out)
            log(f"rep {r + 1}/{reps} {mode}: {out['wall_s']:.2f}s wall, {out['cpu_s']:.2f}s cpu")
    return runs

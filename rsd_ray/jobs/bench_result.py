"""The bench's result (bench.json): the runs measured, checked, priced against the bound and summed up.

It refuses (Refused, one line) rather than report a speedup the runs cannot
support: errors, repetitions that differ, or rsd's accuracy too far under
target-only's (bench_checks.py).
"""

from __future__ import annotations

import statistics

from rsd_ray.jobs.bench_bound import bound, catch_up, timings
from rsd_ray.jobs.bench_checks import accuracy_gap, errors, inconsistent, schedules_differ
from rsd_ray.jobs.bench_projection import projection
from rsd_ray.jobs.bench_runs import ROTATION, SCHEDULES, SOLVED, measure

ROLES = ("draft", "prm", "target")


class Refused(Exception):
    """The runs cannot support a speedup: the one-line reason."""


def rsd_roles(runs: list[dict]) -> dict[str, float]:
    """Median seconds per role inside rsd (reported, never priced), the rest taken per repetition."""
    out = {k: statistics.median(r["role_wall_s"].get(k, 0.0) for r in runs) for k in ROLES}
    out["scheduler_and_rest"] = statistics.median(r["wall_s"] - sum(r["role_wall_s"].get(k, 0.0) for k in ROLES)
                                                  for r in runs)
    return out


def median_wall(runs: dict[str, list[dict]], mode: str) -> float:
    return statistics.median(r["wall_s"] for r in runs[mode])


def schedules(runs: dict[str, list[dict]], rows: int) -> dict[str, dict]:
    """rsd's two schedules side by side: median wall, rows/s, and each role's busy share (engine time / wall)."""
    out = {}
    for name, mode in SCHEDULES.items():
        wall = median_wall(runs, mode)
        out[name] = {"wall_s": wall, "rows_per_s": rows / wall,
                     "busy_share": {k: statistics.median(r["role_wall_s"].get(k, 0.0) / r["wall_s"] for r in runs[mode])
                                    for k in ROLES},
                     "calls": runs[mode][0]["role_calls"]}
    return out


def bench(cfg, rows: list, reps: int, warmup_rows: int, log=print) -> dict:
    from rsd_ray.runner.local import LocalBackend

    backend = LocalBackend.load(cfg, list(SOLVED))
    runs = measure(backend, rows, cfg, reps, warmup_rows, log)
    if reason := errors(runs) or inconsistent(runs) or schedules_differ(runs):
        raise Refused(reason)
    first = {m: runs[m][0] for m in ROTATION}
    acc = accuracy(cfg, rows, first)
    if reason := accuracy_gap(acc):
        raise Refused(reason)
    rsd = first["rsd"]
    wall, cpu = bound(timings(runs, "wall")), bound(timings(runs, "cpu"))
    acceptance = rsd["steps_draft_accepted"] / (rsd["steps_draft_accepted"] + rsd["steps_draft_rejected"])
    sizes = backend.sizes("rsd")
    tokens = {m: {k: first[m][k] for k in ("tokens_draft", "tokens_target", "tokens_prm")} for m in SOLVED}
    return {
        "rows": len(rows), "batch_size": cfg.run.batch_size, "min_target_batch": cfg.run.target_gather(),
        "max_in_flight": cfg.run.in_flight_cap(), "reps": reps, "warmup_rows": warmup_rows,
        "delta": cfg.rsd.delta, "weighting": cfg.rsd.weighting,
        "wall_s": {m: [r["wall_s"] for r in runs[m]] for m in ROTATION},
        "cpu_s": {m: [r["cpu_s"] for r in runs[m]] for m in ROTATION},
        # what priced the bound, per repetition: each role's engine seconds in its own run
        "engine_s": {m: [r["role_wall_s"].get(m, 0.0) for r in runs[m]] for m in ROLES},
        "median_wall_s": {m: median_wall(runs, m) for m in ROTATION},
        "accuracy": acc,
        **wall.as_dict(),
        "cpu": cpu.as_dict(),  # the same on process CPU time: less moved by other load on a shared machine
        # each repetition's own target/rsd ratio (run back to back): the spread load from others causes
        "speedup_per_rep": [t["wall_s"] / r["wall_s"] for t, r in zip(runs["target"], runs["rsd"])],
        "rsd_role_s": rsd_roles(runs["rsd"]),
        "target_catch_up": catch_up(runs, wall.ideal_rsd_s),
        # continuous rows/s over lock-step rows/s (the reference's schedule, same engines, same run)
        "vs_lockstep": median_wall(runs, "lockstep") / median_wall(runs, "rsd"),
        "vs_lockstep_per_rep": [lk["wall_s"] / r["wall_s"] for lk, r in zip(runs["lockstep"], runs["rsd"])],
        "schedules": schedules(runs, len(rows)),
        "acceptance_rate": acceptance,
        "target_step_share": rsd["steps_target"] / (rsd["steps_draft_accepted"] + rsd["steps_target"]),
        "steps": {m: first[m]["steps"] for m in ROTATION},
        "rsd_steps": {"draft_accepted": rsd["steps_draft_accepted"], "draft_rejected": rsd["steps_draft_rejected"],
                      "target": rsd["steps_target"]},
        "role_calls": {m: first[m]["role_calls"] for m in ROTATION},
        "role_items": {m: first[m]["role_items"] for m in ROTATION},
        "tokens": tokens,
        "params": {"draft": sizes.draft, "target": sizes.target, "prm": sizes.prm},
        "identical_to_target": sum(rsd["responses"][k] == v for k, v in first["target"]["responses"].items()),
        "projection": projection(acceptance, tokens),
    }


def accuracy(cfg, rows: list, first: dict[str, dict]) -> dict[str, float | None]:
    """Per mode, by core.stats.accuracy (errored rows make the bench refuse before this matters)."""
    from rsd_ray.core.stats import accuracy as stats_accuracy
    from rsd_ray.grading.grader import Grader

    grader = Grader(cfg.grading.timeout_s)
    try:
        out = {}
        for m in SOLVED:
            graded = [grader.grade(first[m]["responses"][r.id], r.reference, r.kind) for r in rows if r.reference is not None]
            out[m] = stats_accuracy(sum(bool(g.correct) for g in graded), len(graded))
        return out
    finally:
        grader.close()

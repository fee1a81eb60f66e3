"""Continuous step batching against the reference's lock-step rounds on the Ray backend, side by side in one run.

    python benchmarks/ray_schedules.py --rows 500 --reps 3 --out runs/ray_schedules.json [--set target.tp=2]

One local Ray; two backends on it with the same config but run.schedule
(continuous: actors/coordinator.py; lockstep: actors/lockstep.py), each with
its own draft, PRM and target actors, loaded once. After a warm-up each,
repetitions alternate (continuous, lockstep, ...) so drift on a shared machine
hits both. Per schedule: median wall, rows/s, and each role's busy share
(seconds its replicas spent in calls over the wall, from the coordinator's
stats): under lock-step the shares add up to at most 1 (the roles take turns);
above 1, roles worked at once. `vs_lockstep` is continuous rows/s over
lock-step rows/s (the ratio of median walls). Greedy answers must be identical.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import ray

from rsd_ray.config import load_config, with_value
from rsd_ray.data.presets import PRESETS
from rsd_ray.data.rows import normalize, read_rows
from rsd_ray.runner.modes import make_states
from rsd_ray.runner.ray_backend import WORKER_ENV, RayBackend
from rsd_ray.zoo import zoo_problems

SCHEDULES = ("continuous", "lockstep")


def busy(backend) -> dict[str, float]:
    return ray.get(backend.coordinators[0].stats.remote())["busy_s"]


def once(backend, rows, cfg) -> tuple[float, dict[str, float], dict[str, str]]:
    before = busy(backend)
    t0 = time.perf_counter()
    out = backend.solve(make_states(rows, cfg, "rsd"))
    wall = time.perf_counter() - t0
    after = busy(backend)
    return wall, {r: (after.get(r, 0.0) - before.get(r, 0.0)) / wall for r in ("draft", "prm", "target")}, \
        {s.request.id: s.response for s in out}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=500)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    base = with_value(load_config(overrides=a.overrides), "run.backend", "ray")
    cfgs = {s: with_value(base, "run.schedule", s) for s in SCHEDULES}
    rows = [normalize(r, i, PRESETS["zoo"]) for i, r in enumerate(read_rows(zoo_problems(), a.rows))]
    ray.init(address="local", num_cpus=max(os.cpu_count() or 1, 12), include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": dict(WORKER_ENV)})
    backends = {}
    try:
        for s in SCHEDULES:
            backends[s] = RayBackend.start(cfgs[s], ["rsd"])
            backends[s].solve(make_states(rows[:32], cfgs[s], "rsd"))  # warm-up
        runs: dict[str, list] = {s: [] for s in SCHEDULES}
        for r in range(a.reps):
            for s in SCHEDULES:
                runs[s].append(once(backends[s], rows, cfgs[s]))
                print(f"rep {r + 1}/{a.reps} {s}: {runs[s][-1][0]:.2f}s", flush=True)
    finally:
        for b in backends.values():
            b.close()
        ray.shutdown()
    answers = {s: runs[s][0][2] for s in SCHEDULES}
    differ = [k for k in answers["continuous"] if answers["continuous"][k] != answers["lockstep"][k]]
    med = {s: statistics.median(w for w, _, _ in runs[s]) for s in SCHEDULES}
    report = {
        "rows": len(rows), "batch_size": base.run.batch_size, "min_target_batch": base.run.target_gather(),
        "overrides": a.overrides, "reps": a.reps,
        "wall_s": {s: [w for w, _, _ in runs[s]] for s in SCHEDULES},
        "schedules": {s: {"wall_s": med[s], "rows_per_s": len(rows) / med[s],
                          "busy_share": {role: statistics.median(b[role] for _, b, _ in runs[s])
                                         for role in ("draft", "prm", "target")}} for s in SCHEDULES},
        "vs_lockstep": med["lockstep"] / med["continuous"],
        "vs_lockstep_per_rep": [lk[0] / c[0] for c, lk in zip(runs["continuous"], runs["lockstep"])],
        "identical": len(rows) - len(differ), "differ": differ,
    }
    print(json.dumps(report, indent=2))
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Ray backend against the local backend on the same zoo problems, side by side in one run.

    python benchmarks/ray_vs_local.py --rows 200 --reps 3 --set target.tp=2 --out runs/ray_vs_local.json

Reports the median wall time of each backend (after a warm-up), their ratio,
and how many responses are identical (greedy), listing any that differ.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from rsd_ray.config import load_config
from rsd_ray.data.presets import PRESETS
from rsd_ray.data.rows import normalize, read_rows
from rsd_ray.runner.local import LocalBackend
from rsd_ray.runner.modes import make_states
from rsd_ray.runner.ray_backend import RayBackend
from rsd_ray.zoo import zoo_problems


def timed(backend, rows, cfg, mode, reps):
    backend.solve(make_states(rows[:16], cfg, mode))  # warm-up
    walls, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = backend.solve(make_states(rows, cfg, mode))
        walls.append(time.perf_counter() - t0)
    return walls, {s.request.id: s.response for s in out}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--mode", default="rsd")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    cfg = load_config(overrides=a.overrides)
    rows = [normalize(r, i, PRESETS["zoo"]) for i, r in enumerate(read_rows(zoo_problems(), a.rows))]
    local = LocalBackend.load(cfg, [a.mode])
    local_walls, local_out = timed(local, rows, cfg, a.mode, a.reps)
    ray_backend = RayBackend.start(cfg, [a.mode])
    try:
        ray_walls, ray_out = timed(ray_backend, rows, cfg, a.mode, a.reps)
    finally:
        ray_backend.close()
    differ = [k for k in local_out if local_out[k] != ray_out[k]]
    report = {
        "rows": len(rows), "mode": a.mode, "overrides": a.overrides, "batch_size": cfg.run.batch_size,
        "local_wall_s": local_walls, "ray_wall_s": ray_walls,
        "local_median_s": statistics.median(local_walls), "ray_median_s": statistics.median(ray_walls),
        "ray_over_local": statistics.median(ray_walls) / statistics.median(local_walls),
        "identical": len(rows) - len(differ), "differ": [{"id": k, "local": local_out[k], "ray": ray_out[k]}
                                                        for k in differ],
    }
    print(json.dumps({k: v for k, v in report.items() if k != "differ"}, indent=2))
    for d in report["differ"]:
        print(f"differs: {d['id']}\n  local: {d['local']!r}\n  ray:   {d['ray']!r}")
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

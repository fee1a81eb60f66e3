"""cProfile of one mode on the zoo (local backend), after a warm-up: where the time of a run goes.

    python benchmarks/profile_rsd.py --rows 256 --batch-size 64 --mode rsd [--set run.min_target_batch=32]

Prints the run's wall and CPU time, the padding of every role's prefill (tokens
fed after padding vs real new tokens) and the top functions by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections import defaultdict

import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--mode", default="rsd")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--top", type=int, default=15)
    a = ap.parse_args()
    torch.set_num_threads(1)
    import rsd_ray.models.cached as cached
    from rsd_ray.config import load_config
    from rsd_ray.jobs.inputs import load_rows
    from rsd_ray.runner.local import LocalBackend
    from rsd_ray.runner.modes import make_states
    from rsd_ray.zoo import zoo_problems

    cfg = load_config(overrides=[f"run.batch_size={a.batch_size}", *a.overrides])
    cfg.data.preset = "zoo"
    rows = load_rows(cfg, zoo_problems(), a.rows)
    backend = LocalBackend.load(cfg, [a.mode])
    pad = defaultdict(lambda: [0, 0, 0])  # role -> padded tokens, real tokens, forwards
    role = ["?"]
    pack = cached.pack

    def counting_pack(states, new, *args, **kw):
        p = pad[role[0]]
        p[0] += len(new) * max(map(len, new))
        p[1] += sum(map(len, new))
        p[2] += 1
        return pack(states, new, *args, **kw)

    cached.pack = counting_pack
    for r, method in (("draft", "generate_steps"), ("target", "generate_steps"), ("prm", "score")):
        engine = getattr(backend, r)
        if engine is not None:
            fn = getattr(engine, method)
            setattr(engine, method, lambda calls, fn=fn, r=r: (role.__setitem__(0, r), fn(calls))[1])
    backend.solve(make_states(rows[:16], cfg, a.mode))  # warm-up
    pad.clear()
    prof = cProfile.Profile()
    t0, c0 = time.perf_counter(), time.process_time()
    prof.enable()
    backend.solve(make_states(rows, cfg, a.mode))
    prof.disable()
    print(f"{a.mode}: {a.rows} rows, batch {a.batch_size}, {a.overrides}: wall {time.perf_counter() - t0:.2f}s, "
          f"cpu {time.process_time() - c0:.2f}s (under cProfile)")
    for r, (padded, real, n) in pad.items():
        print(f"prefill {r}: {n} packed forwards, {padded} tokens after padding for {real} real (x{padded / real:.2f})")
    pstats.Stats(prof).sort_stats("tottime").print_stats(a.top)
    pstats.Stats(prof).sort_stats("cumtime").print_stats("rsd_ray", a.top)


if __name__ == "__main__":
    main()

"""The KV arena's gather + store, CPU time, in two trees side by side; and the bytes it holds.

A batch of 16 at contexts 512, 4,000 and a mix of 200..4,000 (row groups on, as
kv.pack lays it out): per repetition one gather of the batch with room for a
32-token step, the step written into the batch cache (untimed), and its store
back. Shapes of the stand-ins' target at bench_scaling's size: 4 layers, 4 KV
heads of width 16, float32, one torch thread. Medians of time.process_time.

    python benchmarks/arena_timing.py OUT.json BEFORE_TREE AFTER_TREE
"""
import json, os, statistics, subprocess, sys

CASES = {"512": [512] * 16, "4000": [4000] * 16,
         "200-4000": [200 + round(i * 3800 / 15) for i in range(16)]}
LAYERS, HEADS, DIM, STEP, REPS = 4, 4, 16, 32, 11


def child() -> None:
    import time
    import torch
    torch.set_num_threads(1)
    from rsd_ray.models.arena import KVArena
    from rsd_ray.models.decode_cache import GrowingCache, GrowingLayer
    from rsd_ray.models.kv import row_groups
    out = {}
    for name, lens in CASES.items():
        lens = sorted(lens, reverse=True)  # longest first, as kv.context_order packs them
        arena = KVArena(LAYERS, limit=4096)
        slots = [arena.alloc() for _ in lens]
        g = torch.Generator().manual_seed(0)
        for s, n in zip(slots, lens):  # each request's context, stored once (untimed)
            kv = [torch.randn(1, HEADS, n, DIM, generator=g) for _ in range(LAYERS)]
            arena.store(GrowingCache([GrowingLayer(0, t, -t, length=n) for t in kv]), [0], [0], [n], [s], [0])
        C = max(lens)
        groups = row_groups(lens)
        right = [(c, next(lo for a, b, lo in groups if a <= r < b)) for r, c in enumerate(lens)] if groups else None
        step = torch.randn(len(lens), HEADS, STEP, DIM, generator=g)
        times, gathers, peak = [], [], 0
        for _ in range(REPS):
            t0 = time.process_time()
            cache = arena.gather(slots, C, STEP, right)
            t1 = time.process_time()
            for layer in cache.layers:
                layer.update(step, -step)
            t2 = time.process_time()
            arena.store(cache, list(range(len(lens))), [C] * len(lens), [STEP] * len(lens), slots, lens)
            t3 = time.process_time()
            times.append((t1 - t0) + (t3 - t2))
            gathers.append(t1 - t0)
            batch = sum(t.numel() * t.element_size() for l in cache.layers for t in (l._k, l._v))
            peak = max(peak, arena.nbytes() + batch)
        out[name] = {"gather_store_ms": 1e3 * statistics.median(times), "gather_ms": 1e3 * statistics.median(gathers), "arena_bytes": arena.nbytes(),
                     "peak_bytes": peak, "groups": len(groups) if groups else 1}
    print(json.dumps(out))


def main(path: str, before: str, after: str) -> None:
    res = {}
    for label, tree in (("before", before), ("after", after), ("before_2", before), ("after_2", after)):
        env = dict(os.environ, PYTHONPATH=tree)
        p = subprocess.run([sys.executable, "-c", "import sys; sys.argv=['x','--child']; exec(open(%r).read())"
                            % os.path.abspath(__file__)], env=env, capture_output=True, text=True, check=True, cwd=tree)
        res[label] = json.loads(p.stdout.strip().splitlines()[-1])
    table = {}
    for case in CASES:
        b = min(res[k][case]["gather_store_ms"] for k in ("before", "before_2"))
        a = min(res[k][case]["gather_store_ms"] for k in ("after", "after_2"))
        gb = min(res[k][case]["gather_ms"] for k in ("before", "before_2"))
        ga = min(res[k][case]["gather_ms"] for k in ("after", "after_2"))
        table[case] = {"before_gather_ms": round(gb, 2), "after_gather_ms": round(ga, 2), "before_ms": round(b, 2), "after_ms": round(a, 2), "after_over_before": round(a / b, 3),
                       "before_peak_MiB": round(res["before"][case]["peak_bytes"] / 2**20, 2),
                       "after_peak_MiB": round(res["after"][case]["peak_bytes"] / 2**20, 2),
                       "before_arena_MiB": round(res["before"][case]["arena_bytes"] / 2**20, 2),
                       "after_arena_MiB": round(res["after"][case]["arena_bytes"] / 2**20, 2)}
    json.dump({"table": table, "runs": res, "before": before, "after": after,
               "shape": {"layers": LAYERS, "kv_heads": HEADS, "head_dim": DIM, "batch": 16, "step": STEP,
                         "reps": REPS}}, open(path, "w"), indent=1)
    for case, row in table.items():
        print(case, row)


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        child()
    else:
        main(*sys.argv[1:4])

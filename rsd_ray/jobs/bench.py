"""`rsd-ray bench --output DIR`: RSD against target-only and draft-only, side by side, one process.

    rsd-ray bench --output runs/bench --rows 500 --batch-size 64 --reps 3

The three modes solve the same zoo problems at the same batch size on the
same loaded models (local backend): a warm-up, then `--reps` repetitions in
rotation (target, draft, rsd, target, ...: drift on a shared machine hits
every mode alike), medians reported. Every engine call is timed, so the
per-model costs come from the same run:

    c_draft  = draft-only wall / draft-only steps      (a draft step at full batch)
    c_target = target-only wall / target-only steps    (a target step at full batch)
    c_prm    = PRM time inside rsd / draft steps scored (PRM calls run at full batch)

    ideal rsd wall = D (c_draft + c_prm) + T c_target   (D draft steps, T target steps of the rsd run)
    ideal speedup  = target-only wall / ideal rsd wall
    speedup        = target-only wall / rsd wall
    efficiency     = speedup / ideal speedup = ideal rsd wall / rsd wall

D and T come from the measured acceptance rate (T = rejected draft steps).
The `projection` block is FLOPs arithmetic for the paper's set-ups with the
zoo's measured acceptance rate and token counts: a projection, not a measurement.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from rsd_ray.config import ConfigError, load_config

MODES = ("target", "draft", "rsd")

# Parameter counts of the paper's models (approximate, as in the Qwen2.5 model cards; embeddings included).
PAPER_PARAMS = {
    "Qwen2.5-Math-1.5B-Instruct": 1.54e9,
    "Qwen2.5-Math-7B-Instruct": 7.62e9,
    "Qwen2.5-Math-72B-Instruct": 72.7e9,
    "Skywork-o1-Open-PRM-Qwen-2.5-1.5B": 1.54e9,
    "Skywork-o1-Open-PRM-Qwen-2.5-7B": 7.62e9,
}
PAPER_SETUPS = [  # (draft, target, prm)
    ("Qwen2.5-Math-1.5B-Instruct", "Qwen2.5-Math-7B-Instruct", "Skywork-o1-Open-PRM-Qwen-2.5-1.5B"),
    ("Qwen2.5-Math-1.5B-Instruct", "Qwen2.5-Math-72B-Instruct", "Skywork-o1-Open-PRM-Qwen-2.5-1.5B"),
    ("Qwen2.5-Math-7B-Instruct", "Qwen2.5-Math-72B-Instruct", "Skywork-o1-Open-PRM-Qwen-2.5-7B"),
]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("bench", help="rsd vs target-only vs draft-only on the zoo: speedup, efficiency, projection")
    add_arguments(p)
    p.set_defaults(handler=main)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output", required=True, type=Path, help="directory for bench.json")
    p.add_argument("--config", help="YAML recipe (default: the embedded tiny-zoo config)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--rows", type=int, default=500, help="zoo problems per repetition (default 500)")
    p.add_argument("--batch-size", type=int, help="requests in flight (default: run.batch_size)")
    p.add_argument("--reps", type=int, default=3, help="timed repetitions per mode (default 3)")
    p.add_argument("--warmup-rows", type=int, default=32)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--min-target-batch", type=int,
                   help="run.min_target_batch: rejected rsd requests gathered per target call "
                        "(default: run.min_target_batch, whose 0 means half the batch size; 1 calls the target every round)")


class Timers:
    """Wall time and calls per role, accumulated by wrapping each engine's entry point."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.items: dict[str, int] = defaultdict(int)

    def wrap(self, role: str, fn):
        def timed(calls):
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(calls)
            finally:
                self.wall[role] += time.perf_counter() - t0
                self.cpu[role] += time.process_time() - c0
                self.calls[role] += 1
                self.items[role] += len(calls)
        return timed


def instrument(backend, timers: Timers) -> None:
    """Time every draft, target and PRM call of a LocalBackend (instance attributes shadow the methods)."""
    for role, method in (("draft", "generate_steps"), ("target", "generate_steps"), ("prm", "score")):
        engine = getattr(backend, role)
        if engine is not None:
            setattr(engine, method, timers.wrap(role, getattr(engine, method)))


def run_once(backend, rows, cfg, mode: str, timers: Timers) -> dict:
    from rsd_ray.core.stats import Counters
    from rsd_ray.runner.modes import make_states

    states = make_states(rows, cfg, mode)
    timers.reset()
    t0, c0 = time.perf_counter(), time.process_time()
    done = backend.solve(states)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    c = Counters()
    for s in done:
        c += s.counters
    errors = sum(s.error is not None for s in done)
    return {"wall_s": wall, "cpu_s": cpu, "steps": sum(len(s.steps) for s in done), "errors": errors, **c.as_dict(),
            "role_wall_s": dict(timers.wall), "role_cpu_s": dict(timers.cpu), "role_calls": dict(timers.calls), "role_items": dict(timers.items),
            "responses": {s.request.id: s.response for s in done}}


def bench(cfg, rows: list, reps: int, warmup_rows: int, log=print) -> dict:
    from rsd_ray.grading.grader import Grader
    from rsd_ray.runner.local import LocalBackend

    backend = LocalBackend.load(cfg, list(MODES))
    timers = Timers()
    instrument(backend, timers)
    for mode in MODES:  # warm-up: first calls, allocator, caches
        run_once(backend, rows[:warmup_rows], cfg, mode, timers)
    runs: dict[str, list[dict]] = {m: [] for m in MODES}
    for r in range(reps):
        for mode in MODES:
            out = run_once(backend, rows, cfg, mode, timers)
            runs[mode].append(out)
            log(f"rep {r + 1}/{reps} {mode}: {out['wall_s']:.2f}s wall, {out['cpu_s']:.2f}s cpu")
    grader = Grader(cfg.grading.timeout_s)
    try:
        acc = {m: _accuracy(rows, runs[m][-1]["responses"], grader) for m in MODES}
    finally:
        grader.close()
    last = {m: runs[m][-1] for m in MODES}  # counts are identical across reps (greedy)
    rsd = last["rsd"]
    drafted = rsd["steps_draft_accepted"] + rsd["steps_draft_rejected"]
    wall = ratios(runs, last, "wall_s", "role_wall_s")
    cpu = ratios(runs, last, "cpu_s", "role_cpu_s")
    acceptance = rsd["steps_draft_accepted"] / drafted
    sizes = backend.sizes("rsd")
    result = {
        "rows": len(rows), "batch_size": cfg.run.batch_size, "min_target_batch": cfg.run.target_gather(),
        "max_in_flight": cfg.run.in_flight_cap(), "reps": reps, "warmup_rows": warmup_rows,
        "delta": cfg.rsd.delta, "weighting": cfg.rsd.weighting,
        "wall_s": {m: [x["wall_s"] for x in runs[m]] for m in MODES},
        "cpu_s": {m: [x["cpu_s"] for x in runs[m]] for m in MODES},
        "accuracy": acc,
        **{k: wall[k] for k in ("median_wall_s", "speedup", "ideal_speedup", "efficiency", "ideal_rsd_s",
                                "per_step_cost_s", "rsd_role_s")},
        "cpu": cpu,  # the same ratios on process CPU time: robust to other load on a shared machine
        # each repetition's own target/rsd ratio (run back to back): the spread load from others causes
        "speedup_per_rep": [t["wall_s"] / r["wall_s"] for t, r in zip(runs["target"], runs["rsd"])],
        "acceptance_rate": acceptance,
        "target_step_share": rsd["steps_target"] / (rsd["steps_draft_accepted"] + rsd["steps_target"]),
        "steps": {m: last[m]["steps"] for m in MODES},
        "rsd_steps": {"draft_accepted": rsd["steps_draft_accepted"], "draft_rejected": rsd["steps_draft_rejected"],
                      "target": rsd["steps_target"]},
        "rsd_role_calls": rsd["role_calls"], "rsd_role_items": rsd["role_items"],
        "tokens": {m: {k: last[m][k] for k in ("tokens_draft", "tokens_target", "tokens_prm")} for m in MODES},
        "params": {"draft": sizes.draft, "target": sizes.target, "prm": sizes.prm},
        "errors": {m: last[m]["errors"] for m in MODES},
        "identical_to_target": sum(last["rsd"]["responses"][k] == v for k, v in last["target"]["responses"].items()),
    }
    result["projection"] = projection(acceptance, result["tokens"])
    return result


def ratios(runs: dict, last: dict, key: str, role_key: str) -> dict:
    """Medians, per-step costs, ideal and measured speedup and efficiency on one clock (wall or cpu)."""
    med = {m: statistics.median(x[key] for x in runs[m]) for m in MODES}
    rsd = last["rsd"]
    drafted = rsd["steps_draft_accepted"] + rsd["steps_draft_rejected"]
    role = {k: statistics.median(x[role_key].get(k, 0.0) for x in runs["rsd"]) for k in ("draft", "prm", "target")}
    # per repetition, then the median (a difference of medians of different repetitions can go negative)
    role["scheduler_and_rest"] = statistics.median(
        x[key] - sum(x[role_key].get(k, 0.0) for k in ("draft", "prm", "target")) for x in runs["rsd"])
    cost = {
        "draft_step_s": med["draft"] / last["draft"]["steps"],
        "target_step_s": med["target"] / last["target"]["steps"],
        "prm_step_s": role["prm"] / drafted,
    }
    ideal = drafted * (cost["draft_step_s"] + cost["prm_step_s"]) + rsd["steps_target"] * cost["target_step_s"]
    speedup, ideal_speedup = med["target"] / med["rsd"], med["target"] / ideal
    return {"median_wall_s" if key == "wall_s" else "median_cpu_s": med, "speedup": speedup,
            "ideal_speedup": ideal_speedup, "efficiency": speedup / ideal_speedup, "ideal_rsd_s": ideal,
            "per_step_cost_s": cost, "rsd_role_s": role}


def _accuracy(rows, responses: dict[str, str], grader) -> float | None:
    graded = [grader.grade(responses[r.id], r.reference, r.kind) for r in rows if r.reference is not None]
    return sum(bool(g.correct) for g in graded) / len(graded) if graded else None


def projection(acceptance: float, tokens: dict) -> dict:
    """FLOPs of RSD vs target-only for the paper's models, from the zoo's acceptance rate and token counts.

    step model: per final step the draft writes one step and the PRM scores it
    (every step), the target writes the rejected share (1 - acceptance):
        speedup = P_t / (P_d + P_p + (1 - a) P_t)       (equal step lengths, prefill ignored)
    token model: the zoo run's tokens processed per model (prefill included,
    e.g. the target re-reading accepted draft steps) priced at the real sizes:
        speedup = P_t tok_t(target-only) / (P_d tok_d + P_p tok_p + P_t tok_t)(rsd)
    """
    out = []
    for d, t, p in PAPER_SETUPS:
        Pd, Pt, Pp = PAPER_PARAMS[d], PAPER_PARAMS[t], PAPER_PARAMS[p]
        step = Pt / (Pd + Pp + (1 - acceptance) * Pt)
        r = tokens["rsd"]
        tok = Pt * tokens["target"]["tokens_target"] / (Pd * r["tokens_draft"] + Pp * r["tokens_prm"] + Pt * r["tokens_target"])
        out.append({"draft": d, "target": t, "prm": p, "flops_speedup_step_model": step,
                    "flops_speedup_token_model": tok})
    return {"label": "PROJECTION (FLOPs arithmetic, not a measurement): the zoo's measured acceptance rate "
                     "and token counts priced at the paper models' parameter counts",
            "acceptance_rate": acceptance, "params": PAPER_PARAMS, "setups": out}


def main(args: argparse.Namespace) -> int:
    import torch

    from rsd_ray.jobs.common import JobError, check_output, load_rows
    from rsd_ray.runner.output import write_json
    from rsd_ray.zoo import zoo_problems

    try:
        cfg = load_config(args.config, args.overrides)
        cfg.run.backend = "local"
        if args.batch_size:
            cfg.run.batch_size = args.batch_size
        if args.min_target_batch:
            cfg.run.min_target_batch = args.min_target_batch
        if args.reps < 1 or args.rows < 1:
            raise JobError("--reps and --rows must be >= 1")
        cfg.data.preset = cfg.data.preset or "zoo"
        check_output(args.output)
        rows = load_rows(cfg, zoo_problems(), args.rows)
    except (ConfigError, JobError, FileNotFoundError) as e:
        print(f"rsd-ray: error: {e}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    result = bench(cfg, rows, args.reps, min(args.warmup_rows, len(rows)))
    result["threads"] = args.threads
    result["overrides"] = args.overrides
    write_json(result, args.output / "bench.json")
    print(json.dumps({k: result[k] for k in ("rows", "batch_size", "median_wall_s", "accuracy", "acceptance_rate",
                                             "target_step_share", "rsd_role_s")}, indent=2))
    print(f"speedup (target-only wall / rsd wall): {result['speedup']:.2f}x")
    print(f"ideal speedup (from per-step costs and acceptance {result['acceptance_rate']:.3f}): "
          f"{result['ideal_speedup']:.2f}x")
    print(f"efficiency (speedup / ideal): {result['efficiency']:.2f}")
    print("speedup per repetition: " + ", ".join(f"{x:.2f}" for x in result["speedup_per_rep"]))
    print(f"on CPU time: speedup {result['cpu']['speedup']:.2f}x, ideal {result['cpu']['ideal_speedup']:.2f}x, "
          f"efficiency {result['cpu']['efficiency']:.2f}")
    for s in result["projection"]["setups"]:
        print(f"PROJECTION {s['draft']} / {s['target']} / {s['prm']}: FLOPs speedup "
              f"{s['flops_speedup_step_model']:.2f}x (step model), {s['flops_speedup_token_model']:.2f}x (token model)")
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(prog="rsd-ray bench")
    add_arguments(ap)
    sys.exit(main(ap.parse_args()))

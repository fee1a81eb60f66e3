"""`rsd-ray bench --output DIR`: RSD against target-only and draft-only, side by side, one process.

    rsd-ray bench --output runs/bench --rows 500 --batch-size 64 --reps 5

The modes solve the same zoo problems at the same batch size on the same
loaded models (local backend): a warm-up, then `--reps` repetitions in
rotation (target, draft, prm, rsd, target, ...: drift on a shared machine
hits every mode alike), medians reported. "prm" is the PRM engine alone
scoring the steps draft-only just wrote (bench_runs.py). Each role's cost per
step is measured where it works alone, never inside rsd (bench_bound.py):

    c_target = target engine time in target-only / target-only steps
    c_draft  = draft engine time in draft-only / draft-only steps
    c_prm    = PRM engine time scoring draft-only's steps alone / those steps
    ideal rsd time = D (c_draft + c_prm) + T c_target   (D draft steps, T target steps of the rsd run)
    ideal speedup  = target-only wall / ideal rsd time
    speedup        = target-only wall / rsd wall
    efficiency     = speedup / ideal speedup = ideal rsd time / rsd wall

The ideal leaves out catch-up prefill, partly full target calls, scheduling
and per-call overheads: it is optimistic, an upper bound on the speedup.

It refuses (one line, exit 2, no speedup) when any run has errors, when a
repetition's step or token counts or answers differ from another's, or when
rsd's accuracy is more than 2 points under target-only's (bench_checks.py).
The `projection` block is FLOPs arithmetic for the paper's set-ups with the
zoo's measured acceptance rate and token counts: a projection, not a measurement.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from rsd_ray.config import ConfigError, load_config
from rsd_ray.jobs.bench_bound import Timings, bound
from rsd_ray.jobs.bench_checks import accuracy_gap, errors, inconsistent
from rsd_ray.jobs.bench_projection import projection
from rsd_ray.jobs.bench_runs import MODES, SOLVED, measure

ROLES = ("draft", "prm", "target")


class Refused(Exception):
    """The runs cannot support a speedup: the one-line reason."""


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


def timings(runs: dict[str, list[dict]], clock: str) -> Timings:
    """Medians over repetitions on one clock: "wall" or "cpu"."""
    def med(mode: str, role: str | None = None) -> float:
        return statistics.median(r[f"role_{clock}_s"].get(role, 0.0) if role else r[f"{clock}_s"] for r in runs[mode])
    rsd = runs["rsd"][0]  # counts are the same in every repetition (checked)
    return Timings(med("target"), med("rsd"),
                   med("target", "target"), runs["target"][0]["steps"],
                   med("draft", "draft"), runs["draft"][0]["steps"],
                   med("prm", "prm"), runs["prm"][0]["steps"],
                   rsd["steps_draft_accepted"] + rsd["steps_draft_rejected"], rsd["steps_target"])


def rsd_roles(runs: list[dict]) -> dict[str, float]:
    """Median seconds per role inside rsd (reported, never priced), the rest taken per repetition."""
    out = {k: statistics.median(r["role_wall_s"].get(k, 0.0) for r in runs) for k in ROLES}
    out["scheduler_and_rest"] = statistics.median(r["wall_s"] - sum(r["role_wall_s"].get(k, 0.0) for k in ROLES)
                                                  for r in runs)
    return out


def bench(cfg, rows: list, reps: int, warmup_rows: int, log=print) -> dict:
    from rsd_ray.runner.local import LocalBackend

    backend = LocalBackend.load(cfg, list(SOLVED))
    runs = measure(backend, rows, cfg, reps, warmup_rows, log)
    if reason := errors(runs) or inconsistent(runs):
        raise Refused(reason)
    first = {m: runs[m][0] for m in MODES}
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
        "wall_s": {m: [r["wall_s"] for r in runs[m]] for m in MODES},
        "cpu_s": {m: [r["cpu_s"] for r in runs[m]] for m in MODES},
        # what priced the bound, per repetition: each role's engine seconds in its own run
        "engine_s": {m: [r["role_wall_s"].get(m, 0.0) for r in runs[m]] for m in ROLES},
        "median_wall_s": {m: statistics.median(r["wall_s"] for r in runs[m]) for m in MODES},
        "accuracy": acc,
        **wall.as_dict(),
        "cpu": cpu.as_dict(),  # the same on process CPU time: less moved by other load on a shared machine
        # each repetition's own target/rsd ratio (run back to back): the spread load from others causes
        "speedup_per_rep": [t["wall_s"] / r["wall_s"] for t, r in zip(runs["target"], runs["rsd"])],
        "rsd_role_s": rsd_roles(runs["rsd"]),
        "acceptance_rate": acceptance,
        "target_step_share": rsd["steps_target"] / (rsd["steps_draft_accepted"] + rsd["steps_target"]),
        "steps": {m: first[m]["steps"] for m in MODES},
        "rsd_steps": {"draft_accepted": rsd["steps_draft_accepted"], "draft_rejected": rsd["steps_draft_rejected"],
                      "target": rsd["steps_target"]},
        "role_calls": {m: first[m]["role_calls"] for m in MODES},
        "role_items": {m: first[m]["role_items"] for m in MODES},
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


def report(r: dict) -> None:
    print(json.dumps({k: r[k] for k in ("rows", "batch_size", "median_wall_s", "accuracy", "acceptance_rate",
                                        "target_step_share", "rsd_role_s")}, indent=2))
    print(f"per-step cost measured apart: target {1e3 * r['c_target_s']:.2f} ms, draft {1e3 * r['c_draft_s']:.2f} ms, "
          f"PRM {1e3 * r['c_prm_s']:.2f} ms; ideal rsd {r['ideal_rsd_s']:.2f} s")
    print(f"speedup (target-only wall / rsd wall): {r['speedup']:.2f}x")
    print(f"ideal speedup (upper bound, acceptance {r['acceptance_rate']:.3f}): {r['ideal_speedup']:.2f}x")
    print(f"efficiency (speedup / ideal): {r['efficiency']:.2f}")
    print("speedup per repetition: " + ", ".join(f"{x:.2f}" for x in r["speedup_per_rep"]))
    print(f"on CPU time: speedup {r['cpu']['speedup']:.2f}x, ideal {r['cpu']['ideal_speedup']:.2f}x, "
          f"efficiency {r['cpu']['efficiency']:.2f}")
    if r["efficiency"] > 1:
        print("note: efficiency above 1: timing noise beat an optimistic bound; rerun", file=sys.stderr)
    for s in r["projection"]["setups"]:
        print(f"PROJECTION {s['draft']} / {s['target']} / {s['prm']}: FLOPs speedup "
              f"{s['flops_speedup_step_model']:.2f}x (step model), {s['flops_speedup_token_model']:.2f}x (token model)")


def main(args: argparse.Namespace) -> int:
    import torch

    from rsd_ray.jobs.errors import JobError
    from rsd_ray.jobs.inputs import load_rows
    from rsd_ray.jobs.output_dir import check_output
    from rsd_ray.runner.atomic import write_json
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
    try:
        result = bench(cfg, rows, args.reps, min(args.warmup_rows, len(rows)))
    except Refused as e:
        print(f"rsd-ray: bench refused, no speedup reported: {e}", file=sys.stderr)
        return 2
    result["threads"] = args.threads
    result["overrides"] = args.overrides
    write_json(result, args.output / "bench.json")
    report(result)
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(prog="rsd-ray bench")
    add_arguments(ap)
    sys.exit(main(ap.parse_args()))

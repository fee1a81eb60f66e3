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
import sys
from pathlib import Path

from rsd_ray.config import ConfigError, load_config, with_value
from rsd_ray.jobs.bench_print import report
from rsd_ray.jobs.bench_result import Refused, bench


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


def main(args: argparse.Namespace) -> int:
    import torch

    from rsd_ray.jobs.errors import JobError
    from rsd_ray.jobs.inputs import load_rows
    from rsd_ray.jobs.output_dir import check_output
    from rsd_ray.runner.atomic import write_json
    from rsd_ray.zoo import zoo_problems

    try:
        cfg = with_value(load_config(args.config, args.overrides), "run.backend", "local")
        if args.batch_size:
            cfg = with_value(cfg, "run.batch_size", args.batch_size)
        if args.min_target_batch:
            cfg = with_value(cfg, "run.min_target_batch", args.min_target_batch)
        if args.reps < 1 or args.rows < 1:
            raise JobError("--reps and --rows must be >= 1")
        cfg = with_value(cfg, "data.preset", cfg.data.preset or "zoo")
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

"""`rsd-ray calibrate --target-budget F`: the delta that spends a budget on target steps.

    rsd-ray calibrate --target-budget 0.3 --limit 500 --output runs/calib

1. the first rows of the input (`--calibration-rows N`, or the first
   `--calibration-fraction` of them, 20% by default) run rsd once (binary
   weighting at the config's delta), recording every draft step's reward,
   rejected ones included;
2. delta = the largest threshold whose estimated share of target-written
   steps is at most F (core/calibration.py);
3. the remaining (held-out) rows run rsd at that delta on the same loaded
   models, and the share they really reach is reported next to the estimate.

Writes DIR/calibration.json and prints the `--set rsd.delta=...` to reuse.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rsd_ray.config import Config, ConfigError, with_value
from rsd_ray.core.calibration import draft_rewards, estimated_share, pick_delta, share_curve
from rsd_ray.jobs.backends import open_backend
from rsd_ray.jobs.errors import JobError
from rsd_ray.jobs.job_config import job_config
from rsd_ray.jobs.inputs import load_rows, resolve_input
from rsd_ray.jobs.output_dir import check_output
from rsd_ray.runner.atomic import write_json
from rsd_ray.runner.modes import make_states


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("calibrate", help="pick rsd.delta so that the target writes at most a share F of the steps")
    add_arguments(p)
    p.set_defaults(handler=main)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="YAML recipe (default: the embedded tiny-zoo config)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--limit", type=int, help="only the first N input rows (calibration + held-out)")
    p.add_argument("--backend", choices=["local", "ray"], help="where the models run (default: run.backend)")
    p.add_argument("--input", help="JSONL or Parquet file (default: the bundled zoo problems)")
    p.add_argument("--dataset", help="a benchmark set by name: math500, gsm8k, ...")
    p.add_argument("--output", required=True, type=Path, help="output directory (calibration.json)")
    p.add_argument("--target-budget", type=float, required=True, metavar="F",
                   help="the most target-written steps may be of all steps, in [0, 1]")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--calibration-rows", type=int, metavar="N", help="calibrate on the first N rows")
    g.add_argument("--calibration-fraction", type=float, default=0.2,
                   help="calibrate on this first fraction of the rows (default 0.2)")
    p.add_argument("--no-verify", action="store_true", help="skip the held-out rerun at the chosen delta")


def calibrate(cfg: Config, budget: float, input_path: str | None = None, dataset: str | None = None,
              limit: int | None = None, calibration_rows: int | None = None, fraction: float = 0.2,
              verify: bool = True, log=print) -> dict:
    if not 0.0 <= budget <= 1.0:
        raise JobError(f"--target-budget must be in [0, 1], got {budget}")
    if calibration_rows is None and not 0.0 < fraction < 1.0:
        raise JobError(f"--calibration-fraction must be in (0, 1), got {fraction}")
    if cfg.rsd.weighting != "binary":
        raise JobError("calibration picks a binary threshold: set rsd.weighting=binary (or leave it default)")
    from rsd_ray.grading.grader import Grader
    from rsd_ray.runner.modes import run_mode

    path, cfg = resolve_input(cfg, input_path, dataset)
    rows = load_rows(cfg, path, limit)
    n_cal = calibration_rows if calibration_rows is not None else max(1, round(fraction * len(rows)))
    if not 0 < n_cal <= len(rows) or (verify and n_cal >= len(rows)):
        raise JobError(f"{len(rows)} rows cannot give {n_cal} calibration rows"
                       + (" and held-out rows" if verify else ""))
    cal, held = rows[:n_cal], rows[n_cal:]
    out: dict = {"target_budget": budget, "input": path, "calibration_rows": len(cal), "held_out_rows": len(held),
                 "calibration_delta": cfg.rsd.delta}
    grader = Grader(cfg.grading.timeout_s)
    try:
        with open_backend(cfg, ["rsd"]) as backend:
            t0 = time.perf_counter()
            solved = backend.solve(make_states(cal, cfg, "rsd"))
            rewards = [x for s in solved for x in draft_rewards(s)]
            if not rewards:
                raise JobError("the calibration rows produced no scored draft step")
            delta = pick_delta(rewards, budget)
            out.update({
                "calibration_wall_s": time.perf_counter() - t0,
                "draft_steps": len(rewards),
                "calibration_share_at_calibration_delta": estimated_share(rewards, cfg.rsd.delta),
                "delta": delta,
                "estimated_share": estimated_share(rewards, delta),
                "curve": [{"delta": d, "estimated_share": s}
                          for d, s in share_curve(rewards, [i / 20 for i in range(21)])],
            })
            log(f"calibration: {len(cal)} rows, {len(rewards)} draft steps; delta {delta:.6g} "
                f"(estimated target share {out['estimated_share']:.3f}, budget {budget})")
            if verify:
                held_cfg = with_value(cfg, "rsd.delta", delta)
                _, m = run_mode(held, held_cfg, "rsd", backend, grader)
                out["held_out"] = m
                log(f"held-out: {m['rows']} rows at delta {delta:.6g}: target share {m['target_step_share']:.3f} "
                    f"(budget {budget}), accuracy {m['accuracy']}, {m['wall_s']:.1f}s")
    finally:
        grader.close()
    return out


def main(args: argparse.Namespace) -> int:
    try:
        cfg = job_config(args)
        check_output(args.output)
        result = calibrate(cfg, args.target_budget, args.input, args.dataset, args.limit, args.calibration_rows,
                           args.calibration_fraction, verify=not args.no_verify)
    except (ConfigError, JobError, FileNotFoundError) as e:
        print(f"rsd-ray: error: {e}", file=sys.stderr)
        return 2
    write_json(result, args.output / "calibration.json")
    print(json.dumps({k: v for k, v in result.items() if k not in ("curve", "held_out")}, indent=2))
    print(f"use: --set rsd.weighting=binary --set rsd.delta={result['delta']!r}")
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(prog="rsd-ray calibrate")
    add_arguments(ap)
    sys.exit(main(ap.parse_args()))

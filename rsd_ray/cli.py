"""`rsd-ray` (also `python -m rsd_ray`): the command line.

Bad input (a missing file, a config that does not validate, an output that
cannot be written) ends with one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rsd_ray.jobs.job_config import job_config  # no model library: torch only when a job sets run.threads

# Quiet, offline-safe defaults for the libraries before they are imported.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="YAML recipe (default: the embedded tiny-zoo config)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set rsd.delta=0.8 (repeatable)")
    p.add_argument("--limit", type=int, help="only the first N input rows")
    p.add_argument("--backend", choices=["local", "ray"], help="where the models run (default: run.backend)")
    p.add_argument("--schedule", choices=["continuous", "lockstep"],
                   help="run.schedule: continuous batching, or the reference's lock-step rounds (a baseline)")
    p.add_argument("--input", help="JSONL or Parquet file (default: the bundled zoo problems)")
    p.add_argument("--dataset", help="a benchmark set by name: math500, gsm8k, ...")
    p.add_argument("--output", required=True, type=Path, help="output directory")


def parser() -> argparse.ArgumentParser:
    from rsd_ray.runner.modes import MODES  # the one table of modes (no model library: light)

    ap = argparse.ArgumentParser(prog="rsd-ray", description="Reward-guided speculative decoding on Ray.")
    sub = ap.add_subparsers(dest="command", required=True)
    # Every subcommand names its handler (set_defaults(handler=...)); main calls it, nothing else.
    g = sub.add_parser("generate", help="batch generation in one mode (rsd by default)")
    _common(g)
    g.add_argument("--mode", default="rsd", help=f"one of {', '.join(MODES)}")
    g.set_defaults(handler=_generate)
    e = sub.add_parser("eval", help="evaluate several modes on one input")
    _common(e)
    e.add_argument("--modes", default="rsd,target,draft",
                   help=f"comma-separated, of {', '.join(MODES)}")
    e.add_argument("--sweep", help="run rsd once per value of an acceptance-rule key, e.g. rsd.delta=0.5,0.7,0.9")
    e.set_defaults(handler=_eval)
    sy = sub.add_parser("synth", help="synthetic data: K samples per problem, kept by a rule, as SFT and preference rows")
    _common(sy)
    sy.add_argument("--mode", default="rsd")
    sy.add_argument("--samples", type=int, default=4, help="solutions sampled per problem")
    sy.add_argument("--keep", default="verified", help="verified, reward or verified,reward")
    sy.add_argument("--min-reward", type=float, help="with --keep reward: every scored step at or above this")
    sy.add_argument("--temperature", type=float, default=0.7)
    sy.set_defaults(handler=_synth)
    sb = sub.add_parser("submit", help="submit a job spec (jobs/*.yaml) to a Ray cluster and follow it")
    sb.add_argument("spec", type=Path)
    sb.add_argument("--output", required=True, help="output directory (seen from the cluster's driver)")
    sb.add_argument("--address", default=os.environ.get("RAY_DASHBOARD_ADDRESS", "http://127.0.0.1:8265"),
                    help="the cluster's dashboard (Jobs API) address")
    sb.add_argument("--token-file", type=Path, help="the cluster's auth token (default: Ray's own lookup)")
    sb.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    sb.add_argument("--arg", dest="extra", action="append", default=[], help="one more argument for the job")
    sb.add_argument("--no-wait", action="store_true", help="return once submitted")
    sb.set_defaults(handler=_submit)
    pl = sub.add_parser("plan", help="where every actor goes and the memory per device, loading no model")
    pl.add_argument("--config")
    pl.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    pl.add_argument("--json", action="store_true", help="print the plan as JSON")
    pl.set_defaults(handler=_plan)
    sh = sub.add_parser("show", help="one solution from a run, each step marked draft/target with its reward")
    sh.add_argument("dir", type=Path)
    sh.add_argument("--id", required=True)
    sh.add_argument("--mode", help="only this mode (an eval run holds several)")
    sh.set_defaults(handler=_show)
    from rsd_ray.jobs import bench, calibrate, gpu_check, report

    for job in (calibrate, report, bench, gpu_check):  # each registers its subcommand and its handler
        job.add_parser(sub)
    z = sub.add_parser("zoo", help="build or locate the tiny model zoo")
    zs = z.add_subparsers(dest="zoo_command", required=True)
    zb = zs.add_parser("build", help="train the zoo from its seed (about an hour on 2 cores)")
    zb.add_argument("--output", type=Path, required=True)
    zb.add_argument("--parts", default="draft,target,prm")
    zb.add_argument("--threads", type=int, default=2)
    zb.add_argument("--shrunken", action="store_true", help="a seconds-long recipe that proves the build runs")
    zb.set_defaults(handler=_zoo_build)
    zs.add_parser("path", help="print where the zoo in use lives").set_defaults(handler=_zoo_path)
    zr = zs.add_parser("report", help="measure the zoo's quality on its held-out problems")
    zr.add_argument("--dir", type=Path, help="zoo directory (default: the zoo in use)")
    zr.add_argument("--limit", type=int, default=500)
    zr.set_defaults(handler=_zoo_report)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from rsd_ray.actors.failures import RoleFailed
    from rsd_ray.cluster.fit import PlacementError
    from rsd_ray.config import ConfigError
    from rsd_ray.jobs.errors import JobError

    try:
        return args.handler(args)
    except (ConfigError, JobError, PlacementError, FileNotFoundError, FileExistsError) as e:
        print(f"rsd-ray: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # mid-run: a full disk, an output made read-only; what was committed stays
        where = f" on {e.filename}" if e.filename else ""
        print(f"rsd-ray: error: I/O error{where}: {e.strerror or e}", file=sys.stderr)
        return 1
    except RoleFailed as e:  # a role gave up (actors/failures.py): the one line names it
        print(f"rsd-ray: error: run failed: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # a bug, or a fault no check above knows: one line here, the traceback in a file
        return _crashed(e, args)


def _crashed(e: Exception, args) -> int:
    """Write the full traceback next to the job's output (or in the temp folder) and say where, in one line."""
    import tempfile
    import traceback

    out = getattr(args, "output", None)
    folder = Path(out) if out and Path(out).is_dir() else Path(tempfile.gettempdir())
    log = folder / f"rsd-ray-error-{os.getpid()}.log"
    try:
        log.write_text("".join(traceback.format_exception(e)))
        where = f"full traceback in {log}"
    except OSError:
        where = "the traceback could not be written"
    first = (str(e).strip().splitlines() or [""])[0]
    print(f"rsd-ray: error: {type(e).__name__}: {first} ({where})", file=sys.stderr)
    return 1


def _generate(args) -> int:
    cfg = job_config(args)
    from rsd_ray.jobs.generate import run_generate

    run_generate(cfg, args.output, args.input, args.dataset, args.mode, args.limit)
    return 0


def _eval(args) -> int:
    cfg = job_config(args)
    from rsd_ray.jobs.evaluate import run_eval

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    run_eval(cfg, modes, args.output, args.input, args.dataset, args.limit, sweep=args.sweep)
    return 0


def _synth(args) -> int:
    cfg = job_config(args)
    from rsd_ray.jobs.synth import run_synth

    run_synth(cfg, args.output, args.input, args.dataset, args.mode, args.samples, args.keep,
              args.min_reward, args.temperature, args.limit)
    return 0


def _submit(args) -> int:
    from rsd_ray.jobs.submit import submit

    return submit(args.spec, args.address, args.output, args.extra, args.overrides, args.token_file,
                  not args.no_wait)


def _show(args) -> int:
    from rsd_ray.jobs.show import show

    print(show(args.dir, args.id, args.mode))
    return 0


def _plan(args) -> int:
    import json

    from rsd_ray.cluster.plan import PlanError, format_plan, plan
    from rsd_ray.config import load_config

    cfg = load_config(args.config, args.overrides)
    try:
        p = plan(cfg)
    except PlanError as e:
        print(f"rsd-ray: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(p, indent=2) if args.json else format_plan(p))
    if not p["fits"]:
        for line in p["problems"]:
            print(f"rsd-ray: error: plan does not fit: {line}", file=sys.stderr)
        return 2
    return 0


def _zoo_path(args) -> int:
    from rsd_ray.zoo import zoo_dir

    print(zoo_dir())
    return 0


def _zoo_report(args) -> int:
    import json

    from rsd_ray.zoo import zoo_dir
    from rsd_ray.zoo.report import report

    print(json.dumps(report(args.dir or zoo_dir(), args.limit), indent=2))
    return 0


def _zoo_build(args) -> int:
    import torch

    from rsd_ray.zoo.build import ZooRecipe, build_zoo

    torch.set_num_threads(args.threads)
    recipe = ZooRecipe.shrunken() if args.shrunken else ZooRecipe()
    build_zoo(args.output, recipe, tuple(args.parts.split(",")), log=lambda m: print(m, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What every job does before any model work: resolve inputs, check outputs, fail early and clearly."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from rsd_ray.config import Config, ConfigError
from rsd_ray.data.presets import PRESETS
from rsd_ray.data.rows import Row, preset_for
from rsd_ray.data.source import InputError, Source


class JobError(RuntimeError):
    """Bad job input: reported as one line, before any cluster or model work."""


def benchmarks_dir() -> Path:
    candidates = [os.environ.get("RSD_RAY_BENCHMARKS"), Path.cwd() / "../shared/benchmarks",
                  Path(__file__).resolve().parents[3] / "shared/benchmarks"]
    for c in candidates:
        if c and Path(c).is_dir():
            return Path(c).resolve()
    raise JobError("benchmark sets not found: set RSD_RAY_BENCHMARKS to the folder holding math500/, gsm8k/, ...")


def resolve_input(cfg: Config, input_path: str | None, dataset: str | None) -> str:
    """The input (a file, a folder or a glob), setting the data preset a dataset name or the zoo implies."""
    from rsd_ray.zoo import zoo_problems

    if input_path and dataset:
        raise JobError("give --input or --dataset, not both")
    if dataset:
        if dataset not in PRESETS or dataset == "zoo":
            raise JobError(f"unknown dataset {dataset!r} (known: {', '.join(p for p in PRESETS if p != 'zoo')})")
        cfg.data.preset = cfg.data.preset or dataset
        return str(benchmarks_dir() / dataset / "test.jsonl")
    if not input_path:
        cfg.data.preset = cfg.data.preset or "zoo"
        return str(zoo_problems())
    return input_path


def check_output(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".rsd_ray_write_test-{os.getpid()}"  # two jobs starting together: not each other's
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise JobError(f"output {out} cannot be written: {e.strerror or e}") from None


def check_models(cfg: Config, roles: set[str]) -> None:
    """A local model path that does not exist fails now, not after the cluster is up."""
    from rsd_ray.models.roles import resolve_path  # here: importing it loads torch and transformers
    for role in roles:
        path = resolve_path(getattr(cfg, role).path)
        looks_local = path.startswith(("/", ".", "~")) or os.sep in path and not _hub_id(path)
        if looks_local and not Path(path).expanduser().is_dir():
            raise JobError(f"{role}.path {path} is not a directory")
        if Path(path).is_dir() and not (Path(path) / "config.json").is_file():
            raise JobError(f"{role}.path {path} has no config.json: not a Hugging Face model directory")


def _hub_id(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 2 and all(parts) and not Path(path).exists()


def prepare(cfg: Config, modes: list[str], output: Path, input_path: str | None, dataset: str | None,
            limit: int | None, job: dict | None = None) -> Source:
    """Every check that can fail on bad job input, in one place, before any model loads or cluster starts."""
    from rsd_ray.runner.modes import ROLES_OF

    unknown = [m for m in modes if m not in ROLES_OF]
    if unknown or not modes:
        raise JobError(f"unknown mode {unknown[0] if unknown else ''!r} (available: {', '.join(ROLES_OF)})")
    if limit is not None and limit < 0:
        raise JobError("--limit must be >= 0")
    try:
        source = Source(resolve_input(cfg, input_path, dataset), limit)
        preset_for(cfg.data)
    except InputError as e:
        raise JobError(str(e)) from None
    except ValueError as e:
        raise ConfigError(str(e)) from None
    check_output(output)
    roles = {r for m in modes for r in ROLES_OF[m]}
    check_models(cfg, roles)
    if (dataset or input_path) and all(getattr(cfg, r).path.startswith("zoo:") for r in roles):
        # the embedded default is a test fixture, not a math model: say so before accuracy 0 surprises
        print("rsd-ray: note: the embedded zoo models solve only their own +/- chains (e.g. 12+5-3=?); on other "
              "problems expect accuracy near 0. For real models: --config rsd_ray/recipes/<recipe>.yaml",
              file=sys.stderr)
    claim_output(output, cfg, {"input": [str(f) for f in source.files], **(job or {})})  # a new --limit may extend it
    return source


def claim_output(output: Path, cfg: Config, job: dict) -> None:
    """Take the output's one-writer lock, then record what it holds; a rerun resumes only the same job.

    The lock comes first: two jobs started at the same instant would both find
    no job.json, so the comparison alone cannot keep them apart.
    `run.*` (backend, batch size, cluster) changes how, not what, so it may differ.
    """
    from dataclasses import asdict

    from rsd_ray.runner.atomic import write_json

    lock_output(output)
    spec = {**job, "config": {k: v for k, v in asdict(cfg).items() if k != "run"}}
    spec = json.loads(json.dumps(spec, default=str))
    path = output / "job.json"
    if path.is_file():
        old = json.loads(path.read_text())
        if old != spec:
            keys = sorted(k for k in set(old) | set(spec) if old.get(k) != spec.get(k))
            raise JobError(f"output {output} holds another job (differs in {', '.join(keys)}): "
                           "give a new --output, or the same inputs and config to resume")
        return
    write_json(spec, path)


def lock_output(output: Path) -> None:
    """This job is the output's one writer from now on (runner/lock.py), or a one-line JobError."""
    from rsd_ray.runner.lock import OutputBusy, hold

    output.mkdir(parents=True, exist_ok=True)
    try:
        hold(output)
    except OutputBusy as e:
        raise JobError(f"output {output} is in use by another job ({e.holder or 'pid unknown'}): "
                       "wait for it to end, or give another --output") from None


def sweep_cells(cfg: Config, modes: list[str], sweep: str | None) -> list[tuple[str, str, Config]]:
    """(label, mode, config) per cell: each mode once, and rsd once per value of a swept rsd.* key.

    Only the acceptance rule (rsd.weighting, rsd.delta, rsd.p, rsd.alpha) may be
    swept: it lives in the request states, so every cell shares the loaded models.
    """
    if not sweep:
        return [(m, m, cfg) for m in modes]
    key, sep, values = sweep.partition("=")
    if not sep or not key.startswith("rsd.") or not values:
        raise JobError(f"--sweep wants rsd.<key>=v1,v2,... (the acceptance rule), got {sweep!r}")
    if "rsd" not in modes:
        raise JobError("--sweep varies the rsd mode: include rsd in --modes")
    from rsd_ray.config import load_config_from

    cells = [(m, m, cfg) for m in modes if m != "rsd"]
    for v in values.split(","):
        cells.append((f"rsd[{key.removeprefix('rsd.')}={v}]", "rsd", load_config_from(cfg, [f"{key}={v}"])))
    return cells


def make_backend(cfg: Config, modes: list[str]):
    if cfg.run.backend == "ray":
        from rsd_ray.runner.ray_backend import RayBackend

        return RayBackend.start(cfg, modes)
    from rsd_ray.runner.local import LocalBackend

    return LocalBackend.load(cfg, modes)


@contextmanager
def open_backend(cfg: Config, modes: list[str]):
    backend = make_backend(cfg, modes)
    try:
        yield backend
    finally:
        backend.close()


def load_rows(cfg: Config, path: str | Path, limit: int | None) -> list[Row]:
    """Every row of an input in memory, normalized as a streamed job would: for benchmarks and tests."""
    from rsd_ray.runner.stream import RowFilter

    try:
        rows = RowFilter(cfg.data, set(), limit)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return list(rows.rows(Source(path, limit).iter_local()))

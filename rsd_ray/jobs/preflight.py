"""Every check that can fail on bad job input, run before any model loads or any cluster starts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rsd_ray.config import Config, ConfigError
from rsd_ray.data.rows import preset_for
from rsd_ray.data.source import InputError, Source
from rsd_ray.jobs.errors import JobError
from rsd_ray.jobs.inputs import resolve_input
from rsd_ray.jobs.output_dir import check_output, claim_output


def prepare(cfg: Config, modes: list[str], output: Path, input_path: str | None, dataset: str | None,
            limit: int | None, job: dict | None = None) -> tuple[Source, Config]:
    """Every check that can fail on bad job input, in one place, before any model loads or cluster starts.
    Returns the source and the job's config (with the data preset its input implies)."""
    from rsd_ray.runner.modes import MODES, roles_of

    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise JobError(f"unknown mode {unknown[0] if unknown else ''!r} (available: {', '.join(MODES)})")
    if limit is not None and limit < 0:
        raise JobError("--limit must be >= 0")
    try:
        path, cfg = resolve_input(cfg, input_path, dataset)
        source = Source(path, limit)
        preset_for(cfg.data)
    except InputError as e:
        raise JobError(str(e)) from None
    except ValueError as e:
        raise ConfigError(str(e)) from None
    check_output(output)
    roles = set(roles_of(modes))
    check_models(cfg, roles)
    if (dataset or input_path) and all(getattr(cfg, r).path.startswith("zoo:") for r in roles):
        # the embedded default is a test fixture, not a math model: say so before accuracy 0 surprises
        print("rsd-ray: note: the embedded zoo models solve only their own +/- chains (e.g. 12+5-3=?); on other "
              "problems expect accuracy near 0. For real models: --config rsd_ray/recipes/<recipe>.yaml",
              file=sys.stderr)
    claim_output(output, cfg, {"input": [str(f) for f in source.files], **(job or {})})  # a new --limit may extend it
    return source, cfg


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

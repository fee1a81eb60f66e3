"""Where a job's rows come from: a file, a folder or a glob, a benchmark set by name, or the zoo's problems."""

from __future__ import annotations

import os
from pathlib import Path

from rsd_ray.config import Config, ConfigError, with_value
from rsd_ray.data.filter import RowFilter
from rsd_ray.data.presets import PRESETS
from rsd_ray.data.rows import Row
from rsd_ray.data.source import Source
from rsd_ray.jobs.errors import JobError


def benchmarks_dir() -> Path:
    candidates = [os.environ.get("RSD_RAY_BENCHMARKS"), Path.cwd() / "../shared/benchmarks",
                  Path(__file__).resolve().parents[3] / "shared/benchmarks"]
    for c in candidates:
        if c and Path(c).is_dir():
            return Path(c).resolve()
    raise JobError("benchmark sets not found: set RSD_RAY_BENCHMARKS to the folder holding math500/, gsm8k/, ...")


def resolve_input(cfg: Config, input_path: str | None, dataset: str | None) -> tuple[str, Config]:
    """The input (a file, a folder or a glob), and `cfg` with the data preset a dataset name or the zoo
    implies (a copy: the caller's config is not changed)."""
    from rsd_ray.zoo import zoo_problems

    if input_path and dataset:
        raise JobError("give --input or --dataset, not both")
    if dataset:
        if dataset not in PRESETS or dataset == "zoo":
            raise JobError(f"unknown dataset {dataset!r} (known: {', '.join(p for p in PRESETS if p != 'zoo')})")
        return str(benchmarks_dir() / dataset / "test.jsonl"), with_value(cfg, "data.preset", cfg.data.preset or dataset)
    if not input_path:
        return str(zoo_problems()), with_value(cfg, "data.preset", cfg.data.preset or "zoo")
    return input_path, cfg


def load_rows(cfg: Config, path: str | Path, limit: int | None) -> list[Row]:
    """Every row of an input in memory, normalized as a streamed job would: for benchmarks and tests."""
    try:
        rows = RowFilter(cfg.data, set(), limit)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return list(rows.rows(Source(path, limit).iter_local()))

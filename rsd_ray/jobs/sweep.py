"""An eval's cells: each mode once, and rsd once per value of a swept acceptance-rule key."""

from __future__ import annotations

import yaml

from rsd_ray.config import Config, with_value
from rsd_ray.jobs.errors import JobError


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
    cells = [(m, m, cfg) for m in modes if m != "rsd"]
    for v in values.split(","):
        cells.append((f"rsd[{key.removeprefix('rsd.')}={v}]", "rsd", with_value(cfg, key, yaml.safe_load(v))))
    return cells

"""`rsd-ray generate`: one mode (RSD by default) over an input; DIR/results.parquet and summary.json."""

from __future__ import annotations

from pathlib import Path

from rsd_ray.config import Config
from rsd_ray.jobs.common import prepare, solve
from rsd_ray.runner.output import table, write_json, write_parquet


def run_generate(cfg: Config, output: Path, input_path: str | None = None, dataset: str | None = None,
                 mode: str = "rsd", limit: int | None = None, log=print) -> dict:
    path, rows = prepare(cfg, [mode], output, input_path, dataset, limit)
    records, metrics = solve(cfg, rows, [mode], log)[mode]
    write_parquet(records, output / "results.parquet")
    summary = {"input": str(path), "backend": cfg.run.backend, "mode": mode, **metrics}
    write_json(summary, output / "summary.json")
    log(table({mode: metrics}))
    return summary

"""`rsd-ray eval`: several modes over one input; DIR/<mode>/results.parquet and summary.json."""

from __future__ import annotations

from pathlib import Path

from rsd_ray.config import Config
from rsd_ray.jobs.common import prepare, solve
from rsd_ray.runner.output import table, write_json, write_parquet


def run_eval(cfg: Config, modes: list[str], output: Path, input_path: str | None = None,
             dataset: str | None = None, limit: int | None = None, log=print, sweep: str | None = None) -> dict:
    path, rows = prepare(cfg, modes, output, input_path, dataset, limit)
    summary: dict = {"input": str(path), "backend": cfg.run.backend, "modes": {}}
    for mode, (records, metrics) in solve(cfg, rows, modes, log, sweep).items():
        write_parquet(records, output / mode / "results.parquet")
        summary["modes"][mode] = metrics
    write_json(summary, output / "summary.json")
    log(table(summary["modes"]))
    return summary

"""`rsd-ray generate`: one mode (RSD by default) streamed over an input into DIR/results.parquet/ parts."""

from __future__ import annotations

from pathlib import Path

from rsd_ray.config import Config
from rsd_ray.grading.grader import Grader
from rsd_ray.jobs.backends import open_backend
from rsd_ray.jobs.preflight import prepare
from rsd_ray.runner.atomic import write_json
from rsd_ray.runner.stream import stream_pass
from rsd_ray.runner.tables import table


def run_generate(cfg: Config, output: Path, input_path: str | None = None, dataset: str | None = None,
                 mode: str = "rsd", limit: int | None = None, log=print) -> dict:
    source, cfg = prepare(cfg, [mode], output, input_path, dataset, limit, job={"command": "generate", "mode": mode})
    grader = Grader(cfg.grading.timeout_s)
    try:
        with open_backend(cfg, [mode]) as backend:
            metrics = stream_pass(source, cfg, mode, backend, output, grader, log)
    finally:
        grader.close()
    summary = {"input": [str(f) for f in source.files], "backend": cfg.run.backend, "mode": mode, **metrics}
    write_json(summary, output / "summary.json")
    log(table({mode: metrics}))
    return summary

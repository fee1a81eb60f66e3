"""A job's output directory: writable, held by one writer, holding one job (a rerun resumes only that job)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from rsd_ray.config import Config
from rsd_ray.jobs.errors import JobError


def check_output(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".rsd_ray_write_test-{os.getpid()}"  # two jobs starting together: not each other's
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise JobError(f"output {out} cannot be written: {e.strerror or e}") from None


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

"""`rsd-ray submit SPEC`: send a job spec (jobs/*.yaml) to a Ray cluster through the Jobs API.

Token authentication (DESIGN.md section 4): the client runs with
RAY_AUTH_MODE=token and sends the cluster's token, read by Ray from
RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH (set by --token-file) or ~/.ray/auth_token
(`ray get-auth-token --generate` writes it). It follows the job's logs and
returns its exit status: 0 when the job succeeded, 1 otherwise.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from rsd_ray.jobs.common import JobError

COMMANDS = ("generate", "eval", "synth")


@dataclass
class JobSpec:
    name: str
    command: str
    config: str | None = None
    args: list[str] = field(default_factory=list)
    set: list[str] = field(default_factory=list)
    runtime_env: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> "JobSpec":
        import yaml

        if not path.is_file():
            raise JobError(f"job spec not found: {path}")
        try:
            data = yaml.safe_load(path.read_text()) or {}
            spec = cls(**data)
        except (yaml.YAMLError, TypeError) as e:
            raise JobError(f"job spec {path} is not valid: {str(e).splitlines()[0]}") from None
        if spec.command not in COMMANDS:
            raise JobError(f"job spec {path}: command must be one of {', '.join(COMMANDS)}, got {spec.command!r}")
        return spec

    def entrypoint(self, output: str, extra_args: list[str], overrides: list[str]) -> str:
        argv = ["rsd-ray", self.command, "--output", output]
        if self.config:
            argv += ["--config", self.config]
        argv += [str(a) for a in self.args] + extra_args
        for s in [*self.set, *overrides]:
            argv += ["--set", s]
        return shlex.join(argv)


def submit(spec_path: Path, address: str, output: str, extra_args: list[str], overrides: list[str],
           token_file: Path | None = None, wait: bool = True, log=print) -> int:
    spec = JobSpec.load(spec_path)
    # Local outputs are given absolute: the job's driver runs in another working directory.
    out = output if "://" in output else str(Path(output).resolve())
    entrypoint = spec.entrypoint(out, extra_args, overrides)
    os.environ["RAY_AUTH_MODE"] = "token"
    if token_file is not None:
        if not token_file.is_file():
            raise JobError(f"token file not found: {token_file}")
        os.environ["RAY_AUTH_TOKEN_PATH"] = str(token_file.resolve())
    from ray.exceptions import AuthenticationError
    from ray.job_submission import JobStatus, JobSubmissionClient

    try:
        client = JobSubmissionClient(address)
        job_id = _submit_when_ready(client, entrypoint, spec)
    except AuthenticationError as e:
        raise JobError(f"{address} refused the token: {str(e).strip().splitlines()[0]}") from None
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise JobError(f"cannot submit to {address}: {str(e).strip().splitlines()[-1]}") from None
    log(f"submitted {spec.name} as {job_id}: {entrypoint}")
    if not wait:
        return 0
    import asyncio

    async def follow() -> None:
        async for lines in client.tail_job_logs(job_id):
            print(lines, end="", flush=True)

    asyncio.run(follow())
    status = client.get_job_status(job_id)
    log(f"job {job_id}: {status.value}")
    return 0 if status == JobStatus.SUCCEEDED else 1


def _submit_when_ready(client, entrypoint: str, spec: JobSpec, ready_timeout_s: float = 120.0) -> str:
    """Submit; a head that has just started answers "No available agent" until its job agent is up."""
    import time

    deadline = time.monotonic() + ready_timeout_s
    while True:
        try:
            return client.submit_job(entrypoint=entrypoint, runtime_env=spec.runtime_env or None,
                                     metadata={"rsd_ray_spec": spec.name})
        except RuntimeError as e:
            if "No available agent" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(2)

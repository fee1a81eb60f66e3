"""`rsd-ray submit SPEC`: send a job spec (jobs/*.yaml) to a Ray cluster through the Jobs API.

Token authentication (DESIGN.md section 4): the client runs with
RAY_AUTH_MODE=token and sends the cluster's token, read by Ray from
RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH (set by --token-file) or ~/.ray/auth_token
(`ray get-auth-token --generate` writes it). It follows the job's logs and
returns its exit status: 0 when the job succeeded, 1 otherwise.

Before submitting it parses the job's own command line and config and checks
them against the head's alive nodes (cluster/fit.py): a job whose actors can
never be placed is refused in one line instead of waiting on the cluster.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from rsd_ray.config import Config
from rsd_ray.jobs.errors import JobError

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

    def argv(self, output: str, extra_args: list[str], overrides: list[str]) -> list[str]:
        argv = ["rsd-ray", self.command, "--output", output]
        if self.config:
            argv += ["--config", self.config]
        argv += [str(a) for a in self.args] + extra_args
        for s in [*self.set, *overrides]:
            argv += ["--set", s]
        return argv


def submit(spec_path: Path, address: str, output: str, extra_args: list[str], overrides: list[str],
           token_file: Path | None = None, wait: bool = True, log=print) -> int:
    spec = JobSpec.load(spec_path)
    # Local outputs are given absolute: the job's driver runs in another working directory.
    out = output if "://" in output else str(Path(output).resolve())
    argv = spec.argv(out, extra_args, overrides)
    entrypoint = shlex.join(argv)
    job = _job_placement(argv, log)  # a config that does not validate is refused here, before any network
    os.environ["RAY_AUTH_MODE"] = "token"
    if token_file is not None:
        if not token_file.is_file():
            raise JobError(f"token file not found: {token_file}")
        os.environ["RAY_AUTH_TOKEN_PATH"] = str(token_file.resolve())
    from ray.exceptions import AuthenticationError
    from ray.job_submission import JobStatus, JobSubmissionClient

    from rsd_ray.cluster.fit import PlacementError, ensure_fit
    from rsd_ray.cluster.placement import resolve_auto_devices

    try:
        client = JobSubmissionClient(address)
        if job is not None:  # what can never fit is refused before it is submitted
            cfg, roles = job
            nodes = _alive_nodes(client)
            # as RayBackend.start does: `device: auto` runs on CPUs where the cluster has no GPU at all
            cfg = resolve_auto_devices(cfg, sum(n.get("GPU", 0.0) for n in nodes),
                                       warn=lambda line: log(f"rsd-ray: warning: {line}"))
            ensure_fit(cfg, roles, nodes, warn=lambda line: log(f"rsd-ray: warning: {line}"))
        job_id = _submit_when_ready(client, entrypoint, spec)
    except PlacementError:
        raise  # already the one line to show
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


def _job_placement(argv: list[str], log) -> tuple[Config, list[str]] | None:
    """The job's config and roles, parsed from its own command line as the job will parse it.

    None when there is nothing to check: a job on the local backend places no actors, and a
    recipe that is not on this machine (only on the cluster's) cannot be read here.
    """
    from rsd_ray.cli import parser
    from rsd_ray.config import load_config
    from rsd_ray.runner.modes import MODES, roles_of

    args = parser().parse_args(argv[1:])
    if args.config and not Path(args.config).is_file():
        log(f"rsd-ray: warning: {args.config} is not on this machine: the job's placement is not checked")
        return None
    cfg = load_config(args.config, args.overrides)
    if (args.backend or cfg.run.backend) != "ray":
        return None
    modes = [args.mode] if args.command != "eval" else [m.strip() for m in args.modes.split(",")]
    # An unknown mode has no roles here: the job itself refuses it in one line.
    return cfg, roles_of([m for m in modes if m in MODES])


def _alive_nodes(client) -> list[dict[str, float]]:
    """Each alive node's total resources, from the head's state API.

    Through the client's own request method, so the token header (and any cookies, TLS
    settings) are attached exactly as for the Jobs API calls.
    """
    r = client._do_request("GET", "/api/v0/nodes?limit=10000&filter_keys=state&filter_predicates=%3D"
                                  "&filter_values=ALIVE")
    if r.status_code != 200:
        raise RuntimeError(f"listing the cluster's nodes failed ({r.status_code}): {r.text[:200]}")
    return [n["resources_total"] for n in r.json()["data"]["result"]["result"] if n["state"] == "ALIVE"]


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

"""Chaos (issue 14): a 2,000-row Ray job during which one process of each kind is SIGKILLed by pid,
from outside, as the OOM killer would: a draft rank, the PRM rank, a rank of the TP 2 target group,
the coordinator, a Ray Data worker; then the driver itself, and a rerun. Every row exactly once,
greedy outputs equal to an undisturbed local run. Bounded: each wait has a deadline."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.helpers import write_zoo_rows
from tests.jobs.test_submit import _free_port, _stop_head

ROWS = 2000
BIN = Path(sys.executable).parent
# at these committed rows, kill one process of this kind (the driver last)
PLAN = [(200, "draft"), (400, "prm"), (600, "target"), (800, "coordinator"), (1000, "stage"), (1200, "driver")]
SETS = ["target.tp=2", "run.part_rows=100", "run.batch_size=32", "run.call_timeout_s=120"]


def _input(path) -> None:
    write_zoo_rows(path, ROWS)


def _committed(out: Path) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in (out / "results.parquet").glob("part-*.parquet"))


def _pid_of(kind: str, address: str) -> int | None:
    """The pid of one live process of this kind in the cluster (Ray's state API: class and repr names)."""
    from ray.util.state import list_actors

    for a in list_actors(address=address, filters=[("state", "=", "ALIVE")], detail=True, limit=1000):
        name, repr_name = a.class_name or "", a.repr_name or ""
        if (kind == "coordinator" and name == "Coordinator") or (kind == "stage" and "SolveBatch" in name) or \
                (kind in ("draft", "prm") and repr_name == f"{kind} rank 0") or \
                (kind == "target" and repr_name == "target rank 1"):
            return a.pid
    return None


@pytest.fixture
def head(tmp_path_factory):
    tmp = Path(tempfile.mkdtemp(prefix="rsdc-", dir="/tmp"))  # short: Ray's socket paths have a length limit
    gcs, dash = _free_port(), _free_port()
    ports = {name: _free_port() for name in ("dashboard-agent-listen-port", "dashboard-agent-grpc-port",
                                             "runtime-env-agent-port", "metrics-export-port", "ray-client-server-port")}
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run([str(BIN / "ray"), "start", "--head", f"--port={gcs}", *(f"--{k}={v}" for k, v in ports.items()),
                    "--dashboard-host=127.0.0.1", f"--dashboard-port={dash}", "--num-cpus=8",
                    f"--temp-dir={tmp / 'ray'}", "--disable-usage-stats"],
                   env=env, check=True, capture_output=True, timeout=180)
    try:
        yield f"127.0.0.1:{gcs}", f"http://127.0.0.1:{dash}", env
    finally:
        _stop_head(tmp, gcs)


def _driver(src: Path, out: Path, address: str, env: dict) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "rsd_ray", "generate", "--backend", "ray", "--input", str(src), "--output", str(out),
           *(a for s in [*SETS, f"run.address={address}"] for a in ("--set", s))]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.slow
def test_one_of_each_process_killed_by_pid_then_the_driver_then_a_rerun(head, tmp_path):
    address, dashboard, env = head
    src, out, ref = tmp_path / "in.jsonl", tmp_path / "out", tmp_path / "ref"
    _input(src)
    t0 = time.monotonic()
    driver = _driver(src, out, address, env)
    kills: list[tuple[str, int, int, float]] = []
    for at, kind in PLAN:
        deadline = time.monotonic() + 600
        while _committed(out) < at and driver.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert driver.poll() is None, f"the job ended before the {kind} kill: {driver.stderr.read()[-3000:]}"
        pid = driver.pid if kind == "driver" else _pid_of(kind, dashboard)
        assert pid is not None, kind
        os.kill(pid, signal.SIGKILL)
        kills.append((kind, pid, _committed(out), time.monotonic() - t0))
    driver.wait(60)
    rerun = _driver(src, out, address, env)
    _, err = rerun.communicate(timeout=1200)
    wall = time.monotonic() - t0
    assert rerun.returncode == 0, err[-3000:]
    assert [k[0] for k in kills] == [kind for _, kind in PLAN]

    # the undisturbed reference: the same rows on the local backend (Ray = local is shown elsewhere)
    r = subprocess.run([sys.executable, "-m", "rsd_ray", "generate", "--backend", "local", "--input", str(src),
                        "--output", str(ref), *(a for s in SETS for a in ("--set", s))],
                       capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    got = pq.read_table(out / "results.parquet", columns=["id", "response", "error"]).to_pylist()
    want = {x["id"]: x["response"] for x in pq.read_table(ref / "results.parquet", columns=["id", "response"]).to_pylist()}
    assert len(got) == ROWS and len({x["id"] for x in got}) == ROWS  # every row exactly once
    assert all(x["error"] is None for x in got)
    assert {x["id"]: x["response"] for x in got} == want
    print(json.dumps({"kills": kills, "wall_s": wall}))  # the closing note's figures (pytest -s)

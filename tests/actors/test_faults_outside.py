"""Faults from outside, as an operator meets them: processes SIGKILLed by pid mid-run (issue 14).

A coordinator and a Ray Data stage worker killed by pid used to end the job with a wall of
tracebacks; now Ray restarts them, the coordinator's calls are re-sent and re-driven, a re-sent
batch supersedes the first, and the run completes with every row once, as an undisturbed one.
"""

import os
import signal
import threading
import time

import psutil
import pyarrow.parquet as pq
import ray

from rsd_ray.config import load_config
from rsd_ray.data.source import Source
from rsd_ray.runner.local import LocalBackend
from rsd_ray.runner.ray_backend import RayBackend
from rsd_ray.runner.stream import stream_pass
from rsd_ray.zoo import zoo_problems

ROWS = 160


def _stage_pids(name: str) -> list[int]:
    """Ray names an actor's process after its class: ray::MapWorker(MapBatches(SolveBatch)) ..."""
    out = []
    for p in psutil.process_iter(["cmdline"]):
        args = " ".join(p.info["cmdline"] or [])
        if args.startswith("ray::") and name in args:
            out.append(p.pid)
    return out


def _killer(backend, folder, kills: list, stop: threading.Event) -> None:
    coordinator = backend.coordinators[0]

    def rows_done() -> int:
        return sum(pq.ParquetFile(p).metadata.num_rows for p in (folder / "results.parquet").glob("part-*"))

    def finished() -> int:
        try:
            return ray.get(coordinator.stats.remote(), timeout=30)["finished"]
        except Exception:  # noqa: BLE001 (restarting)
            return 0

    for what, at in (("coordinator", 24), ("SolveBatch", 24)):
        while finished() < at and not stop.is_set():
            time.sleep(0.05)
        if stop.is_set():
            return
        if what == "coordinator":
            pid = ray.get(coordinator.__ray_call__.remote(lambda self: os.getpid()))
        else:
            pids = _stage_pids("SolveBatch")
            if not pids:
                continue
            pid = pids[0]
        os.kill(pid, signal.SIGKILL)
        kills.append((what, pid, rows_done()))
        time.sleep(1.0)


def test_a_coordinator_and_a_stage_worker_killed_by_pid_the_run_completes_as_undisturbed(ray_local, tmp_path, grader):
    sets = ["run.batch_size=8", "run.call_timeout_s=120", "run.part_rows=16"]
    local_cfg = load_config(overrides=sets)
    local = stream_pass(Source(zoo_problems(), ROWS), local_cfg, "rsd", LocalBackend.load(local_cfg, ["rsd"]),
                        tmp_path / "local", grader, lambda _: None)
    cfg = load_config(overrides=[*sets, "run.backend=ray"])
    backend = RayBackend.start(cfg, ["rsd"])
    kills: list = []
    stop = threading.Event()
    killer = threading.Thread(target=_killer, args=(backend, tmp_path / "ray", kills, stop), daemon=True)
    try:
        killer.start()
        m = stream_pass(Source(zoo_problems(), ROWS), cfg, "rsd", backend, tmp_path / "ray", None, lambda _: None)
    finally:
        stop.set()
        killer.join(30)
        backend.close()
    assert [k[0] for k in kills] == ["coordinator", "SolveBatch"], kills
    got = pq.read_table(tmp_path / "ray" / "results.parquet").to_pylist()
    want = pq.read_table(tmp_path / "local" / "results.parquet").to_pylist()
    assert len(got) == ROWS and len({r["id"] for r in got}) == ROWS  # every row once
    assert m["errors"] == 0 and local["errors"] == 0
    assert {r["id"]: r["response"] for r in got} == {r["id"]: r["response"] for r in want}

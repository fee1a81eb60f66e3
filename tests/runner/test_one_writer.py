"""One writer per output: two jobs started together on one --output never both write it,
and the lock that keeps them apart does not outlive a killed holder (resume still works)."""

import signal
import socket
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from rsd_ray.runner.lock import OutputBusy, hold

LIMIT = 16


def _generate(out):
    cmd = [sys.executable, "-m", "rsd_ray", "generate", "--backend", "local", "--mode", "draft", "--limit", str(LIMIT),
           "--output", str(out), "--set", "run.part_rows=4", "--set", "generation.max_steps=3"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_two_jobs_started_together_on_one_output_write_every_row_once(tmp_path):
    out = tmp_path / "out"
    jobs = [_generate(out), _generate(out)]
    codes = [p.wait(timeout=600) for p in jobs]
    errs = [p.stderr.read() for p in jobs]
    assert sorted(codes) in ([0, 0], [0, 2]), errs  # both done (one after the other), or one refused
    ids = pq.read_table(out / "results.parquet")["id"].to_pylist()
    assert len(ids) == LIMIT and len(set(ids)) == LIMIT, sorted(ids)  # every row, none twice
    if 2 in codes:  # refused at the start, in one line naming the output and the job that holds it
        refused = codes.index(2)
        holder = f"pid {jobs[1 - refused].pid} on {socket.gethostname()}"
        assert errs[refused].strip().splitlines() == [
            f"rsd-ray: error: output {out} is in use by another job ({holder}): "
            "wait for it to end, or give another --output"], errs[refused]


def _holder(folder):
    """A process that takes folder's lock and keeps it until killed."""
    code = (f"from pathlib import Path; from rsd_ray.runner.lock import hold; hold(Path({str(folder)!r})); "
            "print(1, flush=True); input()")
    p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "1\n"
    return p


def test_a_held_lock_refuses_with_its_holder_and_dies_with_it(tmp_path):
    holder = _holder(tmp_path)
    try:
        with pytest.raises(OutputBusy) as busy:
            hold(tmp_path)
        assert busy.value.holder == f"pid {holder.pid} on {socket.gethostname()}"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    hold(tmp_path)  # a SIGKILLed holder leaves no stale lock: the rerun of a killed job takes it at once
    hold(tmp_path)  # and one process may take it again (two jobs in turn in one process)

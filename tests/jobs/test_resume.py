"""A 2,000-row generate job killed hard (SIGKILL of the driver) half-way, then rerun into the
same output: exactly 2,000 rows, ids unique, every part whole, committed rows not redone."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pyarrow.parquet as pq
import pytest

from tests.helpers import write_zoo_rows

ROWS = 2000


def _input(path) -> None:
    write_zoo_rows(path, ROWS)


def _generate(src, out, backend, mark):
    # draft mode keeps the 2,000 rows quick; the parts, the ledger and the skip are the same in every mode
    cmd = [sys.executable, "-m", "rsd_ray", "generate", "--backend", backend, "--mode", "draft", "--input", str(src),
           "--output", str(out), "--set", "run.part_rows=100", "--set", "generation.max_steps=3"]
    env = {**os.environ, "RSD_RAY_TEST_MARK": mark}  # inherited by every process of the job's Ray
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)


def _kill_marked(mark):
    """A SIGKILLed driver can leave Ray's agents behind (their parent is gone): end them."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if f"RSD_RAY_TEST_MARK={mark}".encode() in f.read():
                    os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass


def _committed(folder):
    return sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []


def _rows(parts):
    return sum(pq.ParquetFile(p).metadata.num_rows for p in parts)  # each committed part reads whole


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_sigkill_half_way_then_rerun_gives_every_row_exactly_once(tmp_path, backend):
    src, out = tmp_path / "in.jsonl", tmp_path / "out"
    _input(src)
    mark = str(uuid.uuid4())
    try:
        _run_killed_then_rerun(src, out, backend, mark)
    finally:
        _kill_marked(mark)


def _run_killed_then_rerun(src, out, backend, mark):
    results = out / "results.parquet"
    first = _generate(src, out, backend, mark)
    deadline = time.monotonic() + 900
    while _rows(_committed(results)) < ROWS // 2:
        assert first.poll() is None, f"the job ended before the kill: {first.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline, "the job made no progress"
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    time.sleep(2)

    before = _committed(results)
    done_before = _rows(before)
    assert ROWS // 2 <= done_before < ROWS
    assert not (out / "summary.json").exists()  # the killed run never claimed to be done

    _kill_marked(mark)  # the killed run's leftovers must not serve the rerun
    second = _generate(src, out, backend, mark)
    _, err = second.communicate(timeout=900)
    assert second.returncode == 0, err[-2000:]
    table = pq.read_table(results)
    ids = table["id"].to_pylist()
    assert len(ids) == ROWS and len(set(ids)) == ROWS
    assert set(ids) == {f"q{i}" for i in range(ROWS)}
    assert table["error"].null_count == ROWS
    assert not [f for f in os.listdir(results) if f.startswith(".")]  # no half-written part left
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows"] == ROWS and summary["rows_this_run"] == ROWS - done_before

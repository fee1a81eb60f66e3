"""The three jobs submitted with `rsd-ray submit` to a real local Ray head (token auth, dashboard
on 127.0.0.1), each followed to success, with its outputs checked."""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def head():
    tmp = Path(tempfile.mkdtemp(prefix="rsdh-", dir="/tmp"))  # short: Ray's socket paths have a length limit
    token = tmp / "token"
    token.write_text(secrets.token_hex(32))
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token),
           "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    dash = _free_port()
    # Every port the head and its agents bind is a free one: a Ray that an earlier test ended may
    # still hold a default port for a few seconds, and a job agent that cannot bind never comes up.
    ports = [f"--{name}={_free_port()}" for name in ("port", "dashboard-agent-listen-port", "dashboard-agent-grpc-port",
                                                     "runtime-env-agent-port", "metrics-export-port")]
    start = [str(BIN / "ray"), "start", "--head", *ports, "--dashboard-host=127.0.0.1", f"--dashboard-port={dash}",
             "--num-cpus=8", f"--temp-dir={tmp / 'ray'}", "--disable-usage-stats"]
    subprocess.run(start, env=env, check=True, capture_output=True, timeout=180)
    try:
        yield f"http://127.0.0.1:{dash}", token, env
    finally:
        subprocess.run([str(BIN / "ray"), "stop", "--force"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(tmp, ignore_errors=True)


def _submit(head, spec, out, *args):
    address, token, env = head
    cmd = [sys.executable, "-m", "rsd_ray", "submit", str(ROOT / "jobs" / spec), "--address", address,
           "--token-file", str(token), "--output", str(out), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)


def test_generate_job(head, tmp_path):
    r = _submit(head, "generate.yaml", tmp_path / "gen", "--arg=--limit", "--arg=12")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "SUCCEEDED" in r.stdout + r.stderr
    t = pq.read_table(tmp_path / "gen" / "results.parquet")
    assert t.num_rows == 12 and t["error"].null_count == 12
    assert json.loads((tmp_path / "gen" / "summary.json").read_text())["backend"] == "ray"


def test_synth_job(head, tmp_path):
    r = _submit(head, "synth.yaml", tmp_path / "syn", "--arg=--limit", "--arg=4", "--arg=--samples", "--arg=2")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert pq.read_table(tmp_path / "syn" / "samples").num_rows == 8
    summary = json.loads((tmp_path / "syn" / "summary.json").read_text())
    assert summary["sft_rows"] >= 1 and summary["samples_per_problem"] == 2


def test_eval_job(head, tmp_path):
    r = _submit(head, "eval.yaml", tmp_path / "ev", "--arg=--limit", "--arg=8", "--arg=--sweep",
                "--arg=rsd.delta=0.5,0.9")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    modes = json.loads((tmp_path / "ev" / "summary.json").read_text())["modes"]
    assert set(modes) == {"target", "draft", "rsd[delta=0.5]", "rsd[delta=0.9]"}
    assert all(m["rows"] == 8 for m in modes.values())
    assert pq.read_table(tmp_path / "ev" / "table.parquet").num_rows == 4
    assert "rsd[delta=0.9]" in (tmp_path / "ev" / "table.md").read_text()


def test_a_wrong_token_is_refused_in_one_line(head, tmp_path):
    bad = tmp_path / "bad"
    bad.write_text("not-the-token")
    address, _, env = head
    r = subprocess.run([sys.executable, "-m", "rsd_ray", "submit", str(ROOT / "jobs" / "generate.yaml"),
                        "--address", address, "--token-file", str(bad), "--output", str(tmp_path / "o")],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith("rsd-ray: error:") and "refused the token" in r.stderr

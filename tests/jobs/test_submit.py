"""The three jobs submitted with `rsd-ray submit` to a real local Ray head (token auth, dashboard
on 127.0.0.1, 2 CPUs as `ray start --head` gives on a 2-core machine), each followed to success,
with its outputs checked; what can never be placed there is refused before it is submitted."""

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
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
    # (the Ray client server's default, 10001, too: another head on the machine may hold it)
    ports = {name: _free_port() for name in ("port", "dashboard-agent-listen-port", "dashboard-agent-grpc-port",
                                             "runtime-env-agent-port", "metrics-export-port", "ray-client-server-port")}
    start = [str(BIN / "ray"), "start", "--head", *(f"--{k}={v}" for k, v in ports.items()),
             "--dashboard-host=127.0.0.1", f"--dashboard-port={dash}",
             "--num-cpus=2", f"--temp-dir={tmp / 'ray'}", "--disable-usage-stats"]  # docs/JOBS.md: the zoo fits 2
    try:
        subprocess.run(start, env=env, check=True, capture_output=True, timeout=180)
        yield f"http://127.0.0.1:{dash}", token, env, ports["metrics-export-port"]
    finally:
        _stop_head(tmp, ports["port"])
        shutil.rmtree(tmp, ignore_errors=True)


def _stop_head(tmp: Path, gcs_port: int) -> None:
    """End this head's processes only: `ray stop` would end every Ray on the machine, other tests' too.

    Its processes name its temp dir or its GCS port; the workers and agents run under them.
    """
    import psutil

    def ours(p: psutil.Process) -> bool:
        args = p.info["cmdline"] or []
        return p.pid != os.getpid() and any(str(tmp) in a or a.endswith(f":{gcs_port}") for a in args)

    procs: dict[int, psutil.Process] = {}
    for root in filter(ours, psutil.process_iter(["cmdline"])):
        with contextlib.suppress(psutil.NoSuchProcess):  # any of them may end meanwhile
            procs |= {p.pid: p for p in [root, *root.children(recursive=True)]}
    for p in procs.values():  # SIGKILL, as `ray stop --force` does: some of them sit out a SIGTERM
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(list(procs.values()), timeout=15)


def _submit(head, spec, out, *args):
    address, token, env, _ = head
    cmd = [sys.executable, "-m", "rsd_ray", "submit", str(ROOT / "jobs" / spec), "--address", address,
           "--token-file", str(token), "--output", str(out), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)


def _scrape(head) -> dict[tuple[str, str, str], float]:
    """Ray's metrics endpoint on 127.0.0.1: (name, mode or role tag, job tag) -> value summed over workers."""
    import re
    import urllib.request

    text = urllib.request.urlopen(f"http://127.0.0.1:{head[3]}/metrics", timeout=30).read().decode()
    out: dict[tuple[str, str, str], float] = {}
    for line in text.splitlines():
        m = re.match(r"^(ray_rsd_\w+)\{(.*)\} (\S+)$", line)
        if m:
            tags = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
            key = (m.group(1), tags.get("role") or tags.get("mode", ""), tags.get("job", ""))
            out[key] = out.get(key, 0.0) + float(m.group(3))
    return out


def test_generate_job_and_its_metrics_on_rays_endpoint(head, tmp_path):
    before = _scrape(head)
    r = _submit(head, "generate.yaml", tmp_path / "gen", "--arg=--limit", "--arg=12")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "SUCCEEDED" in r.stdout + r.stderr
    t = pq.read_table(tmp_path / "gen" / "results.parquet")
    assert t.num_rows == 12 and t["error"].null_count == 12
    summary = json.loads((tmp_path / "gen" / "summary.json").read_text())
    assert summary["backend"] == "ray"
    # the job's log (what `ray job logs` shows, followed by submit) ends with a progress line
    assert f"rsd: 12/12 rows, 0 errors," in r.stdout and f"acceptance {summary['acceptance_rate']:.3f}" in r.stdout

    # Ray publishes every few seconds: wait for this job's rows, then every counter must be the summary's
    def new(after, name, tag="rsd"):
        return sum(v for (n, t_, j), v in after.items() if n == name and t_ == tag) - \
            sum(v for (n, t_, j), v in before.items() if n == name and t_ == tag)
    deadline = time.monotonic() + 90
    while new(after := _scrape(head), "ray_rsd_rows_total") < 12 and time.monotonic() < deadline:
        time.sleep(2)
    assert new(after, "ray_rsd_rows_total") == summary["rows"] == 12
    assert new(after, "ray_rsd_rows_failed_total") == summary["errors"]
    for name, key in (("draft_steps_accepted", "steps_draft_accepted"), ("draft_steps_rejected", "steps_draft_rejected"),
                      ("target_steps", "steps_target")):
        assert new(after, f"ray_rsd_{name}_total") == summary[key] > 0, name
    for role in ("draft", "target", "prm"):
        assert new(after, "ray_rsd_tokens_processed_total", role) == summary[f"tokens_{role}"] > 0, role
    assert new(after, "ray_rsd_step_reward_count") == summary["steps_draft_accepted"] + summary["steps_draft_rejected"]
    # the coordinator's per-call series: every role called, generated tokens counted
    for role in ("draft", "target", "prm"):
        assert new(after, "ray_rsd_call_seconds_count", role) > 0, role
    assert new(after, "ray_rsd_role_tokens_generated_total", "draft") > 0
    jobs = {j for (n, _, j), v in after.items() if n == "ray_rsd_rows_total" and (n, _, j) not in before}
    assert len(jobs) == 1 and "" not in jobs  # one job's series, tagged with its id


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
    address, _, env, _ = head
    r = subprocess.run([sys.executable, "-m", "rsd_ray", "submit", str(ROOT / "jobs" / "generate.yaml"),
                        "--address", address, "--token-file", str(bad), "--output", str(tmp_path / "o")],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith("rsd-ray: error:") and "refused the token" in r.stderr


def _jobs_on(head) -> int:
    import requests

    address, token, _, _ = head
    r = requests.get(f"{address}/api/jobs/", headers={"Authorization": f"Bearer {token.read_text()}"}, timeout=30)
    r.raise_for_status()
    return len(r.json())


@pytest.mark.parametrize("sets, names", [
    # a recipe's GPUs on a head that has none
    (["target.gpus_per_rank=1"], "target: 1 rank x {CPU: 0.5, GPU: 1} on a node, but no node has GPU (cluster: 2 CPU, 0 GPU)"),
    # issue 10: the 1-CPU roles the specs asked before; this waited 8 minutes on a pending placement group
    (["draft.cpus_per_rank=1", "target.cpus_per_rank=1", "prm.cpus_per_rank=1"],
     "it asks 3.2 CPU in all (draft 1, prm 1, target 1, Ray Data 0.2), the cluster has 2 CPU"),
], ids=["gpus", "one-cpu-roles"])
def test_what_never_fits_is_refused_in_one_line_before_submission(head, tmp_path, sets, names):
    before = _jobs_on(head)
    t0 = time.monotonic()
    r = _submit(head, "generate.yaml", tmp_path / "o", *(a for s in sets for a in ("--set", s)))
    assert r.returncode == 2 and time.monotonic() - t0 < 60, r.stdout[-3000:] + r.stderr[-3000:]
    lines = [line for line in (r.stdout + r.stderr).splitlines() if line.startswith("rsd-ray:")]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith("rsd-ray: error: ") and names in lines[0]
    assert _jobs_on(head) == before and "submitted" not in r.stdout

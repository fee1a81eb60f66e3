"""The step journal (issue 14): a driver SIGKILLed mid-run leaves its half-done solutions' committed
steps behind; the rerun continues each from there, and the output equals an uninterrupted run's."""

import json
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq

from tests.helpers import write_zoo_rows

ROWS = 240
SETS = ["run.part_rows=60", "run.batch_size=16", "run.journal_s=0.2"]


def _input(path) -> None:
    write_zoo_rows(path, ROWS)


def _cmd(src, out):
    return [sys.executable, "-m", "rsd_ray", "generate", "--backend", "local", "--input", str(src),
            "--output", str(out), *(a for s in SETS for a in ("--set", s))]


def _committed_ids(out):
    parts = sorted((out / "results.parquet").glob("part-*.parquet"))
    return {i for p in parts for i in pq.read_table(p, columns=["id"])["id"].to_pylist()}


def _half_done(out):
    """Journaled solutions not in a committed part: id -> its last snapshot."""
    path = out / "results.parquet" / "_journal.jsonl"
    last = {}
    for line in path.read_text().splitlines() if path.is_file() else []:
        try:
            snap = json.loads(line)
        except json.JSONDecodeError:  # cut short by the kill
            continue
        last[snap["id"]] = snap
    done = _committed_ids(out)
    return {i: s for i, s in last.items() if i not in done}


def _exact(row):
    """What must be identical (texts, sources, rejections, counts), and the rewards apart."""
    rewards = [s["reward"] for s in row["steps"] if s["reward"] is not None] + [r["reward"] for r in row["rejected"]]
    return ({"response": row["response"], "steps": tuple((s["text"], s["source"]) for s in row["steps"]),
             "rejected": tuple((r["index"], r["text"]) for r in row["rejected"]), "finish": row["finish_reason"],
             "target": row["steps_target"], "draft_rejected": row["steps_draft_rejected"]}, rewards)


def test_a_killed_run_resumes_its_half_done_solutions_from_their_journaled_steps(tmp_path):
    src, out, ref = tmp_path / "in.jsonl", tmp_path / "out", tmp_path / "ref"
    _input(src)
    p = subprocess.Popen(_cmd(src, out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while p.poll() is None and time.monotonic() < deadline:
        if _committed_ids(out) and len(_half_done(out)) >= 8:
            break
        time.sleep(0.05)
    assert p.poll() is None, "the run ended before the kill"
    os.kill(p.pid, signal.SIGKILL)
    p.wait(30)
    half = _half_done(out)
    journaled = sum(len(s["steps"]) for s in half.values())
    assert half and journaled > 0
    # one journaled solution is edited: the rerun must continue from what the journal says, not redo it
    marked = next(i for i, snap in half.items() if snap["steps"])
    edited = {**half[marked], "steps": [["0+0=0", "target", None, 5], *half[marked]["steps"][1:]]}
    with open(out / "results.parquet" / "_journal.jsonl", "a") as f:
        f.write(json.dumps(edited) + "\n")

    r = subprocess.run(_cmd(src, out), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"resuming {len(half)} half-done solutions" in r.stdout + r.stderr
    u = subprocess.run(_cmd(src, ref), capture_output=True, text=True, timeout=600)
    assert u.returncode == 0, u.stderr[-3000:]

    cols = ["id", "response", "steps", "rejected", "finish_reason", "steps_target", "steps_draft_rejected"]
    got = {x["id"]: _exact(x) for x in pq.read_table(out / "results.parquet", columns=cols).to_pylist()}
    want = {x["id"]: _exact(x) for x in pq.read_table(ref / "results.parquet", columns=cols).to_pylist()}
    assert len(got) == ROWS and got.keys() == want.keys()
    assert got[marked][0]["steps"][0] == ("0+0=0", "target")
    del got[marked], want[marked], half[marked]
    assert {i: g[0] for i, g in got.items()} == {i: w[0] for i, w in want.items()}  # every step and rejection
    # the PRM reads a resumed context in one prefill rather than step by step: rewards agree to float noise
    assert all(abs(a - b) < 1e-5 for i in got for a, b in zip(got[i][1], want[i][1]))
    # the resumed solutions really began where the journal left them: their first steps are its steps
    for i, snap in half.items():
        assert list(got[i][0]["steps"][:len(snap["steps"])]) == [(t, src_) for t, src_, _, _ in snap["steps"]]
    assert not _half_done(out)  # compacted away once their parts committed

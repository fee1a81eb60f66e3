"""Steps recomputed after a driver kill, with and without the step journal (issue 14).

    python benchmarks/journal_resume.py [--rows 2000] [--backend local] [--out DIR]

Runs `rsd-ray generate` (rsd) on ROWS zoo problems, SIGKILLs the driver once a committed part is
on disk and at least 32 half-done solutions are journaled, reruns it into the same output, and
counts, for the rows that were in flight at the kill, the steps their journal entries held (J) and
the steps they end with (F). Without the journal (the code before it) the rerun recomputes every
step those rows had at the kill: J, plus what they did in the last journal interval (up to
run.journal_s, 2 s). With it, only the latter. Either way it then computes their F - J
remaining steps. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.jobs.test_journal_resume import _committed_ids, _half_done  # noqa: E402

from rsd_ray.zoo import zoo_problems  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--backend", default="local")
    ap.add_argument("--out", type=Path, default=Path("runs/journal_resume"))
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    src, out = a.out / "in.jsonl", a.out / "out"
    problems = [json.loads(line) for line in zoo_problems().read_text().splitlines() if line.strip()]
    src.write_text("".join(json.dumps({"id": f"q{i}", "problem": problems[i % len(problems)]["problem"],
                                       "answer": problems[i % len(problems)]["answer"]}) + "\n"
                           for i in range(a.rows)))
    cmd = [sys.executable, "-m", "rsd_ray", "generate", "--backend", a.backend, "--input", str(src),
           "--output", str(out), "--set", "run.part_rows=500"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while p.poll() is None and not (_committed_ids(out) and len(_half_done(out)) >= 32):
        time.sleep(0.05)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    committed, half = len(_committed_ids(out)), _half_done(out)
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True)
    rerun_s = time.monotonic() - t0
    final = {r["id"]: r for r in pq.read_table(out / "results.parquet", columns=["id", "steps"]).to_pylist()}
    f = sum(len(final[i]["steps"]) for i in half)
    j = sum(len(s["steps"]) for s in half.values())
    print(json.dumps({"rows": a.rows, "backend": a.backend, "committed_at_kill": committed,
                      "half_done_journaled": len(half), "journaled_steps_J": j, "their_final_steps_F": f,
                      "recomputed_before_at_least": j, "recomputed_after_at_most": "one journal interval",
                      "rerun_wall_s": round(rerun_s, 1)}))


if __name__ == "__main__":
    main()

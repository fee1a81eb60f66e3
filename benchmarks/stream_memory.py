"""Peak memory of a streamed generate job against input size (issue #4).

Writes an input of N rows (zoo problems, unique ids, and a 1 KB `notes` field
so that holding the input whole would show), runs
`rsd-ray generate --backend ray` on it with generation capped short, and
samples every 0.5 s: the driver's RSS, and the whole job's memory as the sum
of PSS over the driver and every process under it (Ray's GCS, raylet, the
model actors, Ray Data workers; PSS splits shared pages such as the object
store fairly, so nothing is counted twice).

    python benchmarks/stream_memory.py --rows 10000 100000 --output runs/stream_memory
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import psutil


def write_input(path: Path, rows: int) -> None:
    from rsd_ray.zoo import zoo_problems

    problems = [json.loads(line) for line in zoo_problems().read_text().splitlines() if line.strip()]
    filler = "x" * 1000
    with open(path, "w") as f:
        for i in range(rows):
            p = problems[i % len(problems)]
            # no reference: the job measures streaming, not grading
            f.write(json.dumps({"id": f"r{i}", "problem": p["problem"], "notes": filler}) + "\n")


def tree_memory(root: psutil.Process) -> tuple[int, int]:
    """(driver RSS, sum of PSS over the driver and its descendants), bytes."""
    procs = [root] + root.children(recursive=True)
    total = 0
    for p in procs:
        try:
            total += p.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return root.memory_info().rss, total


def measure(rows: int, out: Path, extra: list[str]) -> dict:
    src = out / f"in-{rows}.jsonl"
    write_input(src, rows)
    dest = out / f"out-{rows}"
    cmd = [sys.executable, "-m", "rsd_ray", "generate", "--backend", "ray", "--mode", "draft", "--input", str(src),
           "--output", str(dest), "--set", "generation.max_steps=1", "--set", "generation.max_step_tokens=8",
           "--set", "run.batch_size=256", "--set", "run.part_rows=5000", *extra]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = psutil.Process(proc.pid)
    peak_driver = peak_job = 0
    while proc.poll() is None:
        try:
            d, j = tree_memory(root)
        except psutil.NoSuchProcess:
            break
        peak_driver, peak_job = max(peak_driver, d), max(peak_job, j)
        time.sleep(0.5)
    assert proc.returncode == 0, f"generate failed on {rows} rows"
    summary = json.loads((dest / "summary.json").read_text())
    return {"rows": rows, "input_mb": src.stat().st_size / 2**20, "wall_s": time.monotonic() - t0,
            "rows_out": summary["rows"], "peak_driver_rss_mb": peak_driver / 2**20, "peak_job_pss_mb": peak_job / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--output", type=Path, default=Path("runs/stream_memory"))
    ap.add_argument("--set", dest="extra", action="append", default=[])
    a = ap.parse_args()
    a.output.mkdir(parents=True, exist_ok=True)
    results = [measure(n, a.output, [x for s in a.extra for x in ("--set", s)]) for n in a.rows]
    for r in results:
        print(json.dumps(r))
    if len(results) >= 2:
        small, big = results[0], results[-1]
        driver = big["peak_driver_rss_mb"] / small["peak_driver_rss_mb"]
        job = big["peak_job_pss_mb"] / small["peak_job_pss_mb"]
        print(f"input x{big['rows'] / small['rows']:.0f}: driver peak x{driver:.2f}, job peak x{job:.2f}")
    (a.output / "memory.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

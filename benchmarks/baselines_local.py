"""Every eval mode (rsd, target, draft, sd, best_of_n, beam, majority) through run_mode, local backend.

    python benchmarks/baselines_local.py --rows 100 --out runs/baselines_local.json

One thread, the zoo's own problems, the embedded default config (overrides with
--set). Prints a Markdown table (accuracy, target step share, FLOPs, wall)
and, for sd, how many responses equal the target mode's (batched at
run.batch_size, and at batch size 1), listing the first few that differ.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from rsd_ray.config import load_config, load_config_from
from rsd_ray.data.presets import PRESETS
from rsd_ray.data.rows import normalize, read_rows
from rsd_ray.grading.grader import Grader
from rsd_ray.runner.local import LocalBackend
from rsd_ray.runner.modes import run_mode
from rsd_ray.zoo import zoo_problems

MODES = ["rsd", "target", "draft", "sd", "best_of_n", "beam", "majority"]
COLS = ["accuracy", "target_step_share", "acceptance_rate", "tokens_draft", "tokens_target", "tokens_prm",
        "flops_total", "wall_s"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100)
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg = load_config(overrides=a.overrides)
    modes = a.modes.split(",")
    rows = [normalize(r, i, PRESETS["zoo"]) for i, r in enumerate(read_rows(zoo_problems(), a.rows))]
    t0 = time.perf_counter()
    backend = LocalBackend.load(cfg, modes + (["target"] if "sd" in modes else []))
    print(f"loaded in {time.perf_counter() - t0:.1f}s", flush=True)
    grader = Grader(cfg.grading.timeout_s)
    summary, responses = {}, {}
    try:
        for mode in modes:
            records, m = run_mode(rows, cfg, mode, backend, grader)
            summary[mode], responses[mode] = m, {r["id"]: r["response"] for r in records}
            print(mode, {k: m.get(k) for k in COLS}, flush=True)
        report: dict = {"rows": len(rows), "overrides": a.overrides, "batch_size": cfg.run.batch_size,
                        "baselines": vars(cfg.baselines), "modes": summary}
        if "sd" in modes:
            one = load_config_from(cfg, ["run.batch_size=1"])
            b1 = LocalBackend(1, backend.draft, backend.target, backend.prm)
            recs1, m1 = run_mode(rows, one, "target", b1, grader)
            t1 = {r["id"]: r["response"] for r in recs1}
            tb = responses.get("target") or {r["id"]: r["response"] for r in run_mode(rows, cfg, "target", backend,
                                                                                       grader)[0]}
            sd = responses["sd"]
            report["sd_equal_target_batched"] = sum(sd[k] == tb[k] for k in sd)
            report["sd_equal_target_batch1"] = sum(sd[k] == t1[k] for k in sd)
            report["target_batched_equal_batch1"] = sum(tb[k] == t1[k] for k in sd)
            report["target_batch1"] = m1
            report["sd_differ"] = [{"id": k, "sd": sd[k], "target": tb[k], "target_b1": t1[k]}
                                   for k in sd if sd[k] != tb[k] or sd[k] != t1[k]][:5]
    finally:
        grader.close()
    print(f"| mode | {' | '.join(COLS)} |\n" + "|---" * (len(COLS) + 1) + "|")
    for mode, m in summary.items():
        print(f"| {mode} | " + " | ".join(_fmt(m.get(c)) for c in COLS) + " |")
    for k in ("sd_equal_target_batched", "sd_equal_target_batch1", "target_batched_equal_batch1"):
        if k in report:
            print(f"{k}: {report[k]} / {len(rows)}")
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(report, indent=2) + "\n")


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.3e}"
    return f"{v:.3e}" if isinstance(v, int) and v >= 10**6 else str(v)


if __name__ == "__main__":
    main()

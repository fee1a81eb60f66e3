"""The bench's console lines: the headline figures of a result, then one PROJECTION line per paper set-up."""

from __future__ import annotations

import json
import sys


def report(r: dict) -> None:
    print(json.dumps({k: r[k] for k in ("rows", "batch_size", "median_wall_s", "accuracy", "acceptance_rate",
                                        "target_step_share", "rsd_role_s")}, indent=2))
    print(f"per-step cost measured apart: target {1e3 * r['c_target_s']:.2f} ms, draft {1e3 * r['c_draft_s']:.2f} ms, "
          f"PRM {1e3 * r['c_prm_s']:.2f} ms; ideal rsd {r['ideal_rsd_s']:.2f} s")
    print(f"speedup (target-only wall / rsd wall): {r['speedup']:.2f}x")
    print(f"ideal speedup (upper bound, acceptance {r['acceptance_rate']:.3f}): {r['ideal_speedup']:.2f}x")
    print(f"efficiency (speedup / ideal): {r['efficiency']:.2f}")
    print("speedup per repetition: " + ", ".join(f"{x:.2f}" for x in r["speedup_per_rep"]))
    print(f"on CPU time: speedup {r['cpu']['speedup']:.2f}x, ideal {r['cpu']['ideal_speedup']:.2f}x, "
          f"efficiency {r['cpu']['efficiency']:.2f}")
    c = r["target_catch_up"]
    print(f"target prefill per target step: {1e3 * c['prefill_s_per_target_step']['rsd']:.2f} ms in rsd, "
          f"{1e3 * c['prefill_s_per_target_step']['target']:.2f} ms in target-only; rsd's excess {c['excess_s']:.2f} s, "
          f"efficiency beyond it {c['efficiency_beyond_catch_up']:.2f}")
    for name, sc in r["schedules"].items():
        print(f"rsd {name}: {sc['wall_s']:.2f} s, {sc['rows_per_s']:.1f} rows/s, busy " +
              ", ".join(f"{k} {v:.2f}" for k, v in sc["busy_share"].items()))
    print(f"vs lock-step (continuous rows/s / lock-step rows/s): {r['vs_lockstep']:.2f}x")
    if r["efficiency"] > 1:
        print("note: efficiency above 1: timing noise beat an optimistic bound; rerun", file=sys.stderr)
    for s in r["projection"]["setups"]:
        print(f"PROJECTION {s['draft']} / {s['target']} / {s['prm']}: FLOPs speedup "
              f"{s['flops_speedup_step_model']:.2f}x (step model), {s['flops_speedup_token_model']:.2f}x (token model)")

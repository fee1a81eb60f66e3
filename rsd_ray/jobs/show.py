"""`rsd-ray show DIR --id X`: one solution, each step marked draft/target with its reward."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from rsd_ray.jobs.errors import JobError


def result_tables(run_dir: Path) -> list[Path]:
    """results.parquet of a generate run, DIR/<cell>/results.parquet of an eval, DIR/samples of a synth."""
    for single in (run_dir / "results.parquet", run_dir / "samples"):
        if single.exists():
            return [single]
    found = sorted(run_dir.glob("*/results.parquet")) + sorted(run_dir.glob("*/*/results.parquet"))
    if not found:
        raise JobError(f"no results.parquet under {run_dir}")
    return found


def show(run_dir: Path, row_id: str, mode: str | None = None) -> str:
    out = []
    for path in result_tables(run_dir):
        table = pq.read_table(path)
        rows = table.filter(pc.equal(table["id"], row_id)).to_pylist()
        for r in rows:
            if mode and r["mode"] != mode:
                continue
            out.append(_format(r))
    if not out:
        raise JobError(f"id {row_id!r} not found in {run_dir}")
    return "\n\n".join(out)


def _format(r: dict) -> str:
    head = (f"[{r['mode']}] {r['id']}: correct={r['correct']} pred={r['pred']!r} reference={r['reference']!r} "
            f"finish={r['finish_reason']}" + (f" error={r['error']!r}" if r["error"] else ""))
    lines = [head, f"problem: {r['problem']}"]
    turned_down = {}
    for rej in r.get("rejected") or []:
        turned_down.setdefault(rej["index"], []).append(rej)
    for k, s in enumerate(r["steps"]):
        for rej in turned_down.get(k, []):  # the draft proposals the PRM turned down at this step
            lines.append(f"   x {'draft':<6} r={rej['reward']:.3f}  {rej['text']}  (turned down)")
        reward = "" if s["reward"] is None else f" r={s['reward']:.3f}"
        lines.append(f"  {k + 1:>2} {s['source']:<6}{reward:<9} {s['text']}")
    return "\n".join(lines)

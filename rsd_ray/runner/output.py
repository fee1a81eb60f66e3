"""The output contract of DESIGN.md section 3: result records, their schema, metrics, summary.json.

Files are written to a temporary name and renamed into place, so a reader
(or a resumed job) never sees a half-written file (results.parquet parts: sink.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rsd_ray.core.request import RequestState
from rsd_ray.core.stats import Counters, ModelSizes, summarize
from rsd_ray.data.rows import Row
from rsd_ray.grading.grader import Grade

STEP = pa.struct([("text", pa.string()), ("source", pa.string()), ("reward", pa.float64())])
REJECTED = pa.struct([("index", pa.int64()), ("text", pa.string()), ("reward", pa.float64())])
SCHEMA = pa.schema([
    ("id", pa.string()), ("mode", pa.string()), ("problem", pa.string()), ("reference", pa.string()),
    ("response", pa.string()), ("pred", pa.string()), ("correct", pa.bool_()), ("steps", pa.list_(STEP)),
    ("rejected", pa.list_(REJECTED)),  # rsd: draft steps turned down, at the index the target's step took
    ("finish_reason", pa.string()),
    ("delta", pa.float64()),  # rsd: the acceptance threshold in force for this row (the online budget moves it)
    *[(name, pa.int64()) for name in Counters().as_dict()],
    ("error", pa.string()),
])


def record(row: Row, mode: str, state: RequestState | None, grade: Grade | None) -> dict:
    """One output row; a row that failed before any model ran has no state."""
    c = state.counters if state else Counters()
    error = (state.error if state else None) or row.error or (grade.error if grade else None)
    return {
        "id": row.id, "mode": mode, "problem": row.problem, "reference": row.reference,
        "response": state.response if state else None,
        "pred": grade.pred if grade else None,
        "correct": grade.correct if grade else None,
        "steps": [{"text": s.text, "source": s.source, "reward": s.reward} for s in state.steps] if state else [],
        "rejected": [{"index": r.index, "text": r.text, "reward": r.reward} for r in state.rejected] if state else [],
        "finish_reason": state.finish_reason if state else None,
        "delta": state.weighting.delta if state and mode == "rsd" else None,
        **c.as_dict(),
        "error": error,
    }


def to_table(records: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(records, schema=SCHEMA)


def write_json(obj: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)


METRIC_COLUMNS = [*Counters().as_dict(), "error", "correct", "reference", "delta"]


def metrics(records: list[dict] | pa.Table, sizes: ModelSizes, wall_s: float) -> dict:
    """The run metrics of a set of output rows (records, or a table with METRIC_COLUMNS)."""
    t = records if isinstance(records, pa.Table) else to_table(records)
    total = Counters(**{k: int(pc.sum(t[k]).as_py() or 0) for k in Counters().as_dict()})
    # every row with a reference is in the denominator: one that failed counts as wrong, not as absent
    referenced = t.num_rows - t["reference"].null_count
    right = pc.and_(pc.fill_null(t["correct"], False), pc.is_null(t["error"]))
    correct = int(pc.sum(pc.cast(right, pa.int64())).as_py() or 0)
    m = summarize(total, rows=t.num_rows, errors=t.num_rows - t["error"].null_count,
                  correct=correct, referenced=referenced, sizes=sizes, wall_s=wall_s)
    if "delta" in t.column_names and t["delta"].null_count < t.num_rows:  # rsd rows: the thresholds in force
        m.update(delta_mean=pc.mean(t["delta"]).as_py(), delta_min=pc.min(t["delta"]).as_py(),
                 delta_max=pc.max(t["delta"]).as_py())
    return m


def table(summary_by_mode: dict[str, dict]) -> str:
    """A Markdown table of the headline metrics, one line per mode."""
    cols = ["rows", "errors", "accuracy", "acceptance_rate", "target_step_share", "flops_total", "wall_s", "rows_per_s"]
    lines = ["| mode | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for mode, m in summary_by_mode.items():
        lines.append(f"| {mode} | " + " | ".join(fmt(m.get(c)) for c in cols) + " |")
    return "\n".join(lines)


def fmt(v) -> str:
    """A table cell: 3 significant digits, large numbers in e-notation, "-" for none."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.3e}"
    if isinstance(v, int) and v >= 10**6:
        return f"{v:.3e}"
    return str(v)

"""The run metrics of committed output rows (summary.json), computed from the rows alone.

Computed from the records, not from live counters, so a resumed job's
summary covers every committed part, whichever process wrote it.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from rsd_ray.core.stats import Counters, ModelSizes, summarize
from rsd_ray.runner.schema import to_table

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

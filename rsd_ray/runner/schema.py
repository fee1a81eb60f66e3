"""The output schema of DESIGN.md section 3: the columns of results.parquet, one row per request.

One schema for every mode, so an eval's parts concatenate and a reader needs
no per-mode code; a column a mode does not fill is null.
"""

from __future__ import annotations

import pyarrow as pa

from rsd_ray.core.stats import Counters

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


def to_table(records: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(records, schema=SCHEMA)

"""JSON files (job.json, summary.json, ...) written whole or not at all.

Written to a temporary name and renamed into place, so a reader (or a resumed
job) never sees a half-written file (results.parquet parts: sink.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def write_json(obj: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)

"""`rsd-ray eval`: a grid of datasets x modes x settings, every cell a streamed pass on shared models.

One dataset writes DIR/<cell>/results.parquet/; several write DIR/<dataset>/<cell>/...
Either way DIR/summary.json holds {"modes": {<cell>: metrics}} (cells named
"<dataset>/<cell>" for a grid) and DIR/table.parquet + DIR/table.md one line per cell.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from rsd_ray.config import Config
from rsd_ray.grading.grader import Grader
from rsd_ray.jobs.backends import open_backend
from rsd_ray.jobs.output_dir import check_output, lock_output
from rsd_ray.jobs.preflight import prepare
from rsd_ray.jobs.sweep import sweep_cells
from rsd_ray.runner.atomic import write_json
from rsd_ray.runner.stream import stream_pass
from rsd_ray.runner.tables import table


def run_eval(cfg: Config, modes: list[str], output: Path, input_path: str | None = None,
             dataset: str | None = None, limit: int | None = None, log=print, sweep: str | None = None) -> dict:
    sweep_cells(cfg, modes, sweep)  # a bad --sweep fails before anything is written
    names = [d.strip() for d in dataset.split(",") if d.strip()] if dataset else [None]
    if len(names) > 1:  # the grid's summary and table sit above the per-dataset folders prepare() locks
        check_output(output)
        lock_output(output)
    plan = []  # (dataset name, its folder, its source, its cells): every input checked before any model loads
    for name in names:
        folder = output / name if len(names) > 1 else output
        source, ds_cfg = prepare(cfg, modes, folder, input_path, name, limit,
                         job={"command": "eval", "modes": modes, "sweep": sweep})
        plan.append((name, folder, source, sweep_cells(ds_cfg, modes, sweep)))
    summary: dict = {"backend": cfg.run.backend, "inputs": {}, "modes": {}}
    lines = []
    grader = Grader(cfg.grading.timeout_s)
    try:
        with open_backend(cfg, modes) as backend:
            for name, folder, source, cells in plan:
                summary["inputs"][name or "input"] = [str(f) for f in source.files]
                for label, mode, cell_cfg in cells:
                    key = f"{name}/{label}" if len(names) > 1 else label
                    m = stream_pass(source, cell_cfg, mode, backend, folder / label, grader, log, key)
                    summary["modes"][key] = m
                    lines.append({"dataset": name or "input", "cell": label, "mode": mode, **m})
                    log(f"{key}: {m['rows']} rows, {m['errors']} errors, accuracy {m['accuracy']}, {m['wall_s']:.1f}s")
    finally:
        grader.close()
    write_json(summary, output / "summary.json")
    write_table(lines, summary["modes"], output)
    log(table(summary["modes"]))
    return summary


def write_table(lines: list[dict], by_cell: dict[str, dict], output: Path) -> None:
    """The grid as one Parquet table and one Markdown table (written atomically, like every output)."""
    import os

    tmp = output / ".table.parquet.tmp"
    pq.write_table(pa.Table.from_pylist(lines), tmp)
    os.replace(tmp, output / "table.parquet")
    tmp = output / ".table.md.tmp"
    tmp.write_text(table(by_cell) + "\n")
    os.replace(tmp, output / "table.md")

"""The baseline modes on the Ray backend, through the streamed runner: the same records as local.

beam makes several calls a turn (the coordinator batches by calls), sd runs on a target actor
that also holds the draft (assisted generation), majority and best_of_n fan out into samples.
"""

import pyarrow.parquet as pq

from rsd_ray.config import load_config
from rsd_ray.data.source import Source
from rsd_ray.jobs.inputs import load_rows
from rsd_ray.runner.local import LocalBackend
from rsd_ray.runner.modes import solve_records
from rsd_ray.runner.ray_backend import RayBackend
from rsd_ray.runner.stream import stream_pass
from rsd_ray.zoo import zoo_problems

MODES = ["sd", "beam", "majority", "best_of_n"]


def test_baselines_on_ray_equal_local(ray_local, tmp_path, grader):
    cfg = load_config(overrides=["run.backend=ray", "run.call_timeout_s=120", "data.preset=zoo",
                                 "baselines.n=4", "baselines.beam_width=2", "baselines.beam_expansions=2"])
    rows = load_rows(cfg, zoo_problems(), 6)
    local_backend = LocalBackend.load(cfg, MODES)
    local = {m: {r["id"]: (r["response"], r["pred"]) for r in solve_records(rows, cfg, m, local_backend.solve, grader)}
             for m in MODES}
    backend = RayBackend.start(cfg, MODES)
    try:
        for mode in MODES:
            m = stream_pass(Source(zoo_problems(), 6), cfg, mode, backend, tmp_path / mode, None, lambda _: None)  # graded in Ray Data's stage
            assert m["rows"] == 6 and m["errors"] == 0, mode
            got = {r["id"]: (r["response"], r["pred"]) for r in
                   pq.read_table(tmp_path / mode / "results.parquet").to_pylist()}
            assert got == local[mode], mode
    finally:
        backend.close()

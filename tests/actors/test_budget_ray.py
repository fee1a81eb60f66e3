"""The online target budget on the Ray backend: the same deltas and outputs as local, row for row."""

import pyarrow.parquet as pq

from rsd_ray.config import load_config
from rsd_ray.data.source import Source
from rsd_ray.runner.local import LocalBackend
from rsd_ray.runner.ray_backend import RayBackend
from rsd_ray.runner.stream import stream_pass
from rsd_ray.zoo import zoo_problems


def test_budget_on_ray_gives_each_row_the_delta_and_output_local_gives_it(ray_local, tmp_path, grader):
    # Ray Data's batches arrive at the coordinator in any order and finish in any order: the
    # deltas must not depend on it (core/budget.py)
    runs = {}
    for name, backend_name in (("local", "local"), ("ray", "ray")):
        c = load_config(overrides=["rsd.target_budget=0.3", "rsd.budget_window=4", "run.batch_size=8",
                                   "run.call_timeout_s=120", f"run.backend={backend_name}"])
        backend = LocalBackend.load(c, ["rsd"]) if name == "local" else RayBackend.start(c, ["rsd"])
        try:
            m = stream_pass(Source(zoo_problems(), 48), c, "rsd", backend, tmp_path / name,
                            grader if name == "local" else None, lambda _: None)
        finally:
            backend.close()
        assert m["rows"] == 48 and m["errors"] == 0 and m["target_budget"] == 0.3
        runs[name] = {r["id"]: (r["delta"], r["response"]) for r in
                      pq.read_table(tmp_path / name / "results.parquet").to_pylist()}
    assert runs["ray"] == runs["local"]
    assert len({d for d, _ in runs["local"].values()}) > 2  # the delta did move

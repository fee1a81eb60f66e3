"""The online target budget through the streamed runner on the real zoo (local backend)."""

import pyarrow.parquet as pq

from rsd_ray.config import load_config
from rsd_ray.data.source import Source
from rsd_ray.runner.local import LocalBackend
from rsd_ray.runner.stream import stream_pass
from rsd_ray.zoo import zoo_problems

SETS = ["rsd.target_budget=0.3", "rsd.budget_window=8", "run.batch_size=16"]


def _run(cfg, backend, folder, limit, grader):
    m = stream_pass(Source(zoo_problems(), limit), cfg, "rsd", backend, folder, grader, log=lambda _: None)
    return m, pq.read_table(folder / "results.parquet").to_pylist()


def test_the_share_holds_and_each_row_records_its_delta(tmp_path, grader):
    cfg = load_config(overrides=SETS)
    m, rows = _run(cfg, LocalBackend.load(cfg, ["rsd"]), tmp_path / "a", 200, grader)
    # at the fixed delta 0.7 the zoo's target share is 0.135 (README): the budget moved it
    assert abs(m["target_step_share"] - 0.3) <= 0.03, m["target_step_share"]
    assert m["target_budget"] == 0.3 and m["delta_min"] == 0.7 < m["delta_max"]
    deltas = [r["delta"] for r in rows]
    assert None not in deltas and deltas[:16] == [0.7] * 16  # windows 0 and 1: the start delta


def test_a_resumed_run_starts_its_windows_from_the_rows_already_done(tmp_path, grader):
    cfg = load_config(overrides=SETS)
    backend = LocalBackend.load(cfg, ["rsd"])
    _run(cfg, backend, tmp_path / "r", 40, grader)
    _, rows = _run(cfg, backend, tmp_path / "r", 80, grader)
    later = [r["delta"] for r in rows[40:]]
    assert len(rows) == 80 and len(later) == 40
    # a fresh run's first windows run at the start delta; a resumed one's come from the done rows
    assert 0.7 not in later[:16], later[:16]

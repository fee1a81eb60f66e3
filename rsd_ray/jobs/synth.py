"""`rsd-ray synth`: K sampled solutions per problem, kept by a rule, as SFT rows and preference pairs.

DIR/samples/     every sample (the output contract's columns, ids "<id>#s<k>")
DIR/sft/         kept, distinct solutions as chat messages
DIR/preference/  kept vs not-kept solutions of one problem
DIR/step_pairs/  rsd only: the draft step the PRM turned down vs the target's step, both rewards

All four are folders of Parquet parts; the parts of one batch share a number
and the samples part is written last, so it commits the batch: on resume,
derived parts without their samples part are removed and those rows redone.
"""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from rsd_ray.config import Config, with_value
from rsd_ray.data.synth import SCHEMAS, KeepRule, derive, problem_id
from rsd_ray.grading.grader import Grader
from rsd_ray.jobs.backends import open_backend
from rsd_ray.jobs.errors import JobError
from rsd_ray.jobs.preflight import prepare
from rsd_ray.runner.atomic import write_json
from rsd_ray.runner.budget import SEED_COLUMNS, make_gate
from rsd_ray.runner.progress import Progress
from rsd_ray.runner.schema import SCHEMA
from rsd_ray.runner.sink import PartSink
from rsd_ray.runner.stream import run_metrics, stream_tables
from rsd_ray.runner.tables import table


def run_synth(cfg: Config, output: Path, input_path: str | None = None, dataset: str | None = None,
              mode: str = "rsd", samples: int = 4, keep: str = "verified", min_reward: float | None = None,
              temperature: float = 0.7, limit: int | None = None, log=print) -> dict:
    if samples < 1:
        raise JobError("--samples must be >= 1")
    if temperature <= 0:
        raise JobError("--temperature must be > 0: the samples of a problem must differ")
    rules = {k.strip() for k in keep.split(",") if k.strip()}
    if not rules or rules - {"verified", "reward"} or ("reward" in rules) != (min_reward is not None):
        raise JobError("--keep takes verified, reward or verified,reward; reward needs --min-reward (and only it)")
    rule = KeepRule(verified="verified" in rules, min_reward=min_reward)
    # Sampling everywhere, and target steps scored too, so step pairs carry both rewards.
    cfg = with_value(with_value(cfg, "generation.temperature", temperature), "rsd.score_target", True)
    source, cfg = prepare(cfg, [mode], output, input_path, dataset, limit,
                     job={"command": "synth", "mode": mode, "samples": samples, "keep": sorted(rules),
                          "min_reward": min_reward})
    sinks = {"samples": PartSink(output / "samples", SCHEMA),
             **{name: PartSink(output / name, schema) for name, schema in SCHEMAS.items()}}
    committed = {p.name for p in sinks["samples"].parts()}
    for name in SCHEMAS:  # a batch cut short by a kill: its derived parts go, its rows are redone
        for part in sinks[name].parts():
            if part.name not in committed:
                part.unlink()
    seen = {h for name in SCHEMAS for h in sinks[name].read(["hash"])["hash"].to_pylist()}
    done = {problem_id(i) for i in sinks["samples"].done_ids()}
    if done:
        log(f"synth: resuming: {len(done)} problems already done")

    grader = Grader(cfg.grading.timeout_s)
    t0 = time.perf_counter()
    progress = Progress(source.total, len(done), "synth", log)
    new = 0
    try:
        with open_backend(cfg, [mode]) as backend:
            gate = make_gate(cfg, mode, sinks["samples"].read(SEED_COLUMNS), per_row=samples)
            for t in stream_tables(source, cfg, mode, backend, grader, done, samples, gate):
                number = sinks["samples"].next_number
                for name, rows in derive(t.to_pylist(), rule, seen).items():
                    sinks[name].write(pa.Table.from_pylist(rows, schema=SCHEMAS[name]), number)
                sinks["samples"].write(t, number)
                new += t.num_rows
                progress.update(t.num_rows // samples, t.num_rows - t["error"].null_count)
            sizes = backend.sizes(mode)
    finally:
        grader.close()
        progress.close()
    m = run_metrics(sinks["samples"], sizes, time.perf_counter() - t0, new)
    counts = {name: sum(pq.ParquetFile(p).metadata.num_rows for p in sinks[name].parts())
              for name in SCHEMAS}
    summary = {"input": [str(f) for f in source.files], "backend": cfg.run.backend, "mode": mode,
               "samples_per_problem": samples, "keep": sorted(rules), "min_reward": min_reward,
               **{f"{name}_rows": n for name, n in counts.items()}, **m}
    write_json(summary, output / "summary.json")
    log(table({f"{mode} x{samples}": m}))
    log(f"sft {counts['sft']} rows, preference {counts['preference']} pairs, step pairs {counts['step_pairs']}")
    return summary

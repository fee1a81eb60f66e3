"""One streamed pass: input rows -> requests -> solved, graded records -> committed parts.

Nothing here holds the input whole. On `--backend local` rows are read
lazily and solved in chunks of `run.part_rows` (continuous batching inside
each chunk), one committed part per chunk. On `--backend ray` it is a Ray
Data pipeline:

    read (RowsDatasource) -> Normalize (one actor: ids, duplicate ids, resume skip)
      -> SolveBatch (actor pool: sends requests to the coordinators, grades)
      -> driver: iter_batches -> PartSink (atomic parts)

Ray Data's backpressure bounds what is in flight; the driver only commits
finished rows. Rows whose id is already in a committed part are skipped, so
rerunning a killed job completes it with every row exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import islice

import pyarrow as pa

from rsd_ray.actors.failures import raise_role_failure
from rsd_ray.actors.metrics import row_metrics
from rsd_ray.config import Config
from rsd_ray.core.budget import BudgetGate
from rsd_ray.data.filter import RowFilter
from rsd_ray.data.rows import Row
from rsd_ray.data.source import DATA_STAGE_CPUS, Source
from rsd_ray.grading.grader import Grader
from rsd_ray.runner.budget import SEED_COLUMNS, make_gate
from rsd_ray.runner.journal import Journal
from rsd_ray.runner.modes import solve_records
from rsd_ray.runner.schema import SCHEMA, to_table
from rsd_ray.runner.progress import Progress
from rsd_ray.runner.sink import PartSink
from rsd_ray.runner.summary import METRIC_COLUMNS, metrics


class SolveBatch:
    """Ray Data map stage: a thin client of the coordinators (models stay in their actors)."""

    def __init__(self, coordinators: list, cfg: Config, mode: str, samples: int = 0, resume: dict | None = None):
        import random

        self.samples = samples
        self.coordinators = coordinators
        self.cfg = cfg
        self.mode = mode
        self.grader = Grader(cfg.grading.timeout_s)
        self.turn = random.randrange(len(coordinators))
        self.budgeted = mode == "rsd" and cfg.rsd.target_budget is not None
        self.resume = resume  # the journaled progress of half-done solutions (runner/journal.py)

    def __call__(self, batch: pa.Table) -> pa.Table:
        import ray

        rows = [Row(**r) for r in batch.to_pylist()]
        self.turn = (self.turn + 1) % len(self.coordinators)
        coordinator = self.coordinators[self.turn]

        def solve(states):
            try:
                return ray.get(coordinator.solve.remote(states, self.budgeted))
            except ray.exceptions.RayTaskError as e:  # the driver gets the RoleFailed itself
                raise_role_failure(e)
                raise

        return to_table(solve_records(rows, self.cfg, self.mode, solve, self.grader, self.samples, self.resume))


def _local_tables(source: Source, done: set[str], cfg: Config, mode: str, backend, grader: Grader,
                  samples: int, on_block, resume: dict | None) -> Iterator[pa.Table]:
    """Chunks of part_rows rows, each solved with continuous batching inside; one part per chunk."""
    rows = RowFilter(cfg.data, done, source.limit).rows(source.iter_local())
    while chunk := list(islice(rows, cfg.run.part_rows)):
        t = to_table(solve_records(chunk, cfg, mode, backend.solve, grader, samples, resume))
        on_block(t)
        yield t


def _ray_tables(source: Source, done: set[str], cfg: Config, mode: str, backend, samples: int,
                on_block, resume: dict | None) -> Iterator[pa.Table]:
    from ray.data import ActorPoolStrategy, DataContext

    ctx = DataContext.get_current()
    ctx.execution_options.preserve_order = True  # ids are checked for repeats in input order
    ctx.enable_progress_bars = False  # the job prints its own
    ctx.raise_original_map_exception = True  # a stage's own error (a RoleFailed), not a UserCodeException of it
    clients = cfg.run.clients * len(backend.coordinators)
    ds = (source.ray_dataset()
          # A stage worker that dies is restarted and its batches retried, without end (set here, not
          # left to Ray Data's defaults): RowFilter catches up on its input (data/filter.py); a
          # SolveBatch holds nothing, and its re-sent requests supersede the first ones in the coordinator.
          .map_batches(RowFilter, fn_constructor_args=(cfg.data, done, source.limit, source), batch_size=None,
                       batch_format="pyarrow", compute=ActorPoolStrategy(size=1), num_cpus=DATA_STAGE_CPUS,
                       max_restarts=-1, max_task_retries=-1)
          .map_batches(SolveBatch, fn_constructor_args=(backend.coordinators, cfg, mode, samples, resume),
                       batch_size=cfg.run.batch_size, batch_format="pyarrow", compute=ActorPoolStrategy(size=clients),
                       num_cpus=DATA_STAGE_CPUS, max_restarts=-1, max_task_retries=-1))
    # Whole blocks (a batch's rows, all samples of each): a part never splits a problem's samples.
    buf: list[pa.Table] = []
    try:
        for block in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
            on_block(block)
            buf.append(block)
            if sum(b.num_rows for b in buf) >= cfg.run.part_rows:
                yield pa.concat_tables(buf)
                buf = []
    except Exception as e:  # a role that cannot be recovered: its RoleFailed, not Ray Data's traceback
        raise_role_failure(e)
        raise
    if buf:
        yield pa.concat_tables(buf)


def stream_tables(source: Source, cfg: Config, mode: str, backend, grader: Grader, done: set[str],
                  samples: int = 0, gate: BudgetGate | None = None, on_block=None,
                  journal: Journal | None = None, resume: dict | None = None) -> Iterator[pa.Table]:
    """Output tables of every input row not in `done` (row ids; with samples, the rows' own ids).

    `gate`: the pass's online target budget (runner/budget.py), installed in the backend for this
    pass only; `journal`: its step journal, likewise, and `resume` what a killed run journaled.
    `on_block`: called with every solved block as it arrives (progress)."""
    backend.set_gate(gate)
    backend.set_journal(journal)
    on_block = on_block or (lambda t: None)
    try:
        if cfg.run.backend == "ray":
            yield from _ray_tables(source, done, cfg, mode, backend, samples, on_block, resume)
        else:
            yield from _local_tables(source, done, cfg, mode, backend, grader, samples, on_block, resume)
    finally:
        backend.set_journal(None)
        backend.set_gate(None)


def stream_pass(source: Source, cfg: Config, mode: str, backend, folder, grader: Grader, log=print,
                label: str | None = None) -> dict:
    """Run one mode over a source into folder/results.parquet; the metrics of every committed row."""
    sink = PartSink(folder / "results.parquet", SCHEMA)
    done = sink.done_ids()
    if done:
        log(f"{label or mode}: resuming: {len(done)} rows already done")
    gate = make_gate(cfg, mode, sink.read(SEED_COLUMNS) if done else SCHEMA.empty_table())
    # The step journal; not with a budget (a resumed row's delta is its window's, not what it started with)
    journal = Journal(sink.folder, cfg.run.journal_s) if gate is None and cfg.run.journal_s > 0 else None
    resume = journal.load(done) if journal is not None else {}
    if resume:
        log(f"{label or mode}: resuming {len(resume)} half-done solutions from their last journaled step")
    exporter = row_metrics(cfg.run.backend)
    t0 = time.perf_counter()
    progress = Progress(source.total, len(done), label or mode, log)
    new = 0
    for t in stream_tables(source, cfg, mode, backend, grader, done, gate=gate, on_block=progress.update_table,
                           journal=journal, resume=resume):
        sink.write(t)
        new += t.num_rows
        done.update(t["id"].to_pylist())
        if journal is not None:
            journal.compact(done)
        if exporter is not None:
            exporter.publish(t, mode)
    progress.close()
    m = run_metrics(sink, backend.sizes(mode), time.perf_counter() - t0, new)
    if gate is not None:
        m["target_budget"] = cfg.rsd.target_budget
    return m


def run_metrics(sink: PartSink, sizes, wall: float, new: int) -> dict:
    m = metrics(sink.read(METRIC_COLUMNS), sizes, wall)
    m["rows_this_run"] = new
    m["rows_per_s"] = new / wall if wall > 0 else None  # this run's rate, not diluted by resumed rows
    return m

"""Ray-native metrics (`ray.util.metrics`): every name in one place, published where the numbers are.

The counting stays where it is (per-request Counters in the core, the metrics
of committed rows in runner/summary.py); this module only publishes, so Ray's
own Prometheus endpoint and dashboard show a run while it goes, with no
server of ours. Two publishers:

- `RowMetrics`, in the driver, from each committed part: rows, failed rows,
  steps, tokens per role and the step rewards. Published after the part is
  on disk, so the counters equal what summary.json reports for this run.
- `CallMetrics`, in the coordinator, per model call: latency, batch size,
  tokens fed and generated per role, and the requests in flight.

Ray prefixes every name with `ray_` and gives counters a `_total` suffix:
`rsd_rows` is scraped as `ray_rsd_rows_total`. Every series carries a `job`
tag (Ray's job id, as `ray list jobs` shows it) beside Ray's own (WorkerId,
NodeAddress, ...): one run's series are the ones with its job id. The local
backend publishes nothing (no Ray: `row_metrics` returns None).
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from rsd_ray.core.calibration import row_draft_rewards

# name: (kind, description, tag keys); histograms' boundaries in BOUNDARIES
METRICS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "rsd_rows": ("counter", "Rows committed to the output", ("mode",)),
    "rsd_rows_failed": ("counter", "Committed rows with an error", ("mode",)),
    "rsd_draft_steps_proposed": ("counter", "Draft steps the PRM scored", ("mode",)),
    "rsd_draft_steps_accepted": ("counter", "Draft steps kept", ("mode",)),
    "rsd_draft_steps_rejected": ("counter", "Draft steps turned down (the target rewrote them)", ("mode",)),
    "rsd_target_steps": ("counter", "Steps the target wrote", ("mode",)),
    "rsd_tokens_processed": ("counter", "Tokens each model ran a forward pass over (summary's tokens_<role>)",
                             ("mode", "role")),
    "rsd_step_reward": ("histogram", "PRM reward of each draft step", ("mode", "accepted")),
    "rsd_delta": ("gauge", "Acceptance threshold in force (last committed row)", ("mode",)),
    "rsd_call_seconds": ("histogram", "Seconds per model call, retries included", ("role",)),
    "rsd_call_batch_size": ("histogram", "Requests' calls per model call", ("role",)),
    "rsd_role_tokens_fed": ("counter", "Context tokens read per role (prefill; the PRM's scored tokens)",
                            ("role",)),
    "rsd_role_tokens_generated": ("counter", "Tokens generated per role", ("role",)),
    "rsd_requests_in_flight": ("gauge", "Requests admitted and not finished, per coordinator", ("coordinator",)),
    "rsd_requests_queued": ("gauge", "Requests waiting for admission, per coordinator", ("coordinator",)),
}
BOUNDARIES: dict[str, list[float]] = {
    "rsd_step_reward": [i / 10 for i in range(1, 10)],
    "rsd_call_seconds": [0.001 * 2 ** i for i in range(20)],  # 1 ms .. 524 s
    "rsd_call_batch_size": [2 ** i for i in range(11)],  # 1 .. 1024
}
ROLES = ("draft", "target", "prm")


def _make(names: Sequence[str]) -> dict:
    import ray
    from ray.util.metrics import Counter, Gauge, Histogram

    job = {"job": ray.get_runtime_context().get_job_id()}
    out = {}
    for name in names:
        kind, description, tags = METRICS[name]
        tags = (*tags, "job")
        if kind == "histogram":
            m = Histogram(name, description, boundaries=BOUNDARIES[name], tag_keys=tags)
        else:
            m = (Counter if kind == "counter" else Gauge)(name, description, tag_keys=tags)
        out[name] = m.set_default_tags(job)
    return out


def _sum(t: pa.Table, column: str) -> int:
    return int(pc.sum(t[column]).as_py() or 0)


class RowMetrics:
    """The driver's publisher: one call per committed part."""

    def __init__(self):
        self.m = _make([n for n in METRICS if not n.startswith(("rsd_call", "rsd_role", "rsd_requests"))])

    def publish(self, t: pa.Table, mode: str) -> None:
        tag = {"mode": mode}
        accepted, rejected = _sum(t, "steps_draft_accepted"), _sum(t, "steps_draft_rejected")
        for name, value in (("rsd_rows", t.num_rows), ("rsd_rows_failed", t.num_rows - t["error"].null_count),
                            ("rsd_draft_steps_proposed", accepted + rejected), ("rsd_draft_steps_accepted", accepted),
                            ("rsd_draft_steps_rejected", rejected), ("rsd_target_steps", _sum(t, "steps_target"))):
            if value:
                self.m[name].inc(value, tags=tag)
        for role in ROLES:
            if n := _sum(t, f"tokens_{role}"):
                self.m["rsd_tokens_processed"].inc(n, tags={**tag, "role": role})
        for steps, rejected in zip(t["steps"].to_pylist(), t["rejected"].to_pylist()):
            for accepted, rewards in zip(("true", "false"), row_draft_rewards(steps, rejected)):
                for r in rewards:
                    self.m["rsd_step_reward"].observe(r, tags={**tag, "accepted": accepted})
        deltas = [d for d in t["delta"].to_pylist() if d is not None]
        if deltas:
            self.m["rsd_delta"].set(deltas[-1], tags=tag)


def row_metrics(backend: str) -> RowMetrics | None:
    return RowMetrics() if backend == "ray" else None


class CallMetrics:
    """The coordinator's publisher: one call per model call, and the admission counts."""

    def __init__(self, coordinator: str):
        self.m = _make([n for n in METRICS if n.startswith(("rsd_call", "rsd_role", "rsd_requests"))])
        self.tag = {"coordinator": coordinator}

    def call(self, role: str, calls: int, seconds: float, results: list) -> None:
        tag = {"role": role}
        self.m["rsd_call_seconds"].observe(seconds, tags=tag)
        self.m["rsd_call_batch_size"].observe(calls, tags=tag)
        if role == "prm":
            fed, generated = sum(r.tokens for r in results), 0
        else:
            fed, generated = sum(r.prefill_tokens for r in results), sum(r.new_tokens for r in results)
        if fed:
            self.m["rsd_role_tokens_fed"].inc(fed, tags=tag)
        if generated:
            self.m["rsd_role_tokens_generated"].inc(generated, tags=tag)

    def load(self, live: int, queued: int) -> None:
        self.m["rsd_requests_in_flight"].set(live, tags=self.tag)
        self.m["rsd_requests_queued"].set(queued, tags=self.tag)

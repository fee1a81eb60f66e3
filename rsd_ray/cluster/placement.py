"""Where each role's actors go: one placement group per replica, its bundles one per TP rank.

A replica's ranks share a node (STRICT_PACK), which tensor parallelism over
shared memory or NVLink needs. A role's `resource` names the custom resource
its node group carries (e.g. "target_group"), which keeps draft, PRM and
target on their own machines of a real cluster.
"""

from __future__ import annotations

from rsd_ray.config import ModelConfig


def rank_bundle(m: ModelConfig) -> dict[str, float]:
    b: dict[str, float] = {"CPU": m.cpus_per_rank}
    if m.gpus_per_rank:
        b["GPU"] = m.gpus_per_rank
    if m.resource:
        b[m.resource] = 1.0
    return b


def replica_placement_group(m: ModelConfig, name: str):
    from ray.util.placement_group import placement_group

    return placement_group([rank_bundle(m) for _ in range(m.tp)], strategy="STRICT_PACK", name=name)


def accelerator(m: ModelConfig) -> str:
    return "cuda" if m.device.startswith("cuda") else "cpu"

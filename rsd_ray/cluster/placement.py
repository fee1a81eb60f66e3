"""Where each role's actors go: one placement group per replica, its bundles one per TP rank.

A replica's ranks share a node (STRICT_PACK), which tensor parallelism over
shared memory or NVLink needs. A role's `resource` names the custom resource
its node group carries (e.g. "target_group"), which keeps draft, PRM and
target on their own machines of a real cluster.
"""

from __future__ import annotations

from dataclasses import replace

from rsd_ray.config import Config, ModelConfig

ROLES = ("draft", "target", "prm")


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
    if m.device == "auto":
        return "cuda" if m.gpus_per_rank else "cpu"
    return "cuda" if m.device.startswith("cuda") else "cpu"


def resolve_auto_devices(cfg: Config, cluster_gpus: float, warn=None) -> Config:
    """`device: auto` on a cluster with no GPU at all runs that role on CPUs (gpus_per_rank 0), so a
    paper recipe also runs on a CPU-only Ray (its tests do); on a GPU cluster it asks what it says.
    `warn` hears it in one line (a 72B on CPUs is rarely what was meant). An explicit
    `device: cuda` is left alone: a cluster that cannot give it is refused (cluster/fit.py)."""
    # decided here, once, for every rank: Ray does not hide GPUs from an actor given none, so a rank
    # deciding for itself by torch.cuda.is_available() would load onto a GPU another role holds
    auto = [r for r in ROLES if getattr(cfg, r).device == "auto"]
    on_gpu = {r for r in auto if cluster_gpus and getattr(cfg, r).gpus_per_rank > 0}
    changed = {r: replace(getattr(cfg, r), device="cuda") if r in on_gpu else
               replace(getattr(cfg, r), device="cpu", gpus_per_rank=0.0) for r in auto}
    lost = [r for r in auto if r not in on_gpu and getattr(cfg, r).gpus_per_rank > 0]
    if lost and warn:
        warn(f"the cluster has no GPU: {', '.join(lost)} (device: auto) run on CPUs; "
             f"set {lost[0]}.device=cuda to require GPUs instead")
    return replace(cfg, **changed) if changed else cfg
